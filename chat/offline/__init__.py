"""The offline model: answers from rules instead of an LLM, through the real Runner and tools.

model.py is the SDK's Model, intents.py what a message asks for, plans.py the tool calls that do it,
replies.py the sentences about results.
"""

from chat.offline.intents import HELP, understand
from chat.offline.model import OfflineModel, next_step
from chat.offline.plans import Call, Intent

__all__ = ["HELP", "Call", "Intent", "OfflineModel", "next_step", "understand"]

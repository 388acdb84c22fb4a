"""The offline model: answers from rules instead of an LLM, through the real Runner and tools.

model.py is the SDK's Model, intents.py what a message asks for, replies.py the sentences about results.
"""

from chat.offline.intents import HELP, Call, Intent, understand
from chat.offline.model import OfflineModel, next_step

__all__ = ["HELP", "Call", "Intent", "OfflineModel", "next_step", "understand"]

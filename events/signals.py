from django.dispatch import Signal

# Sent by the sequencer inside the transaction that numbered a user's events, with `user_id` and `event_ids`
# (in order): a receiver's writes commit with the numbers, so what it starts happens once per event.
numbered = Signal()

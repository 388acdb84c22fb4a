"""ChatKit (the openai-chatkit SDK) on our tables: a Store over chat.services and chat.selectors, and a server
whose responses run the chat API's agent, tools and history.

Mapping
- A thread is a Conversation: id ``thr_<pk>``, its title (None when blank), its created_at.
- A user or an assistant message item is a Message row of that role: id ``msg_<pk>``.
- Tool calls are stored as the chat API stores them (an assistant row with `tool_calls`, then a tool row
  with the result). They are the agent's history rather than something ChatKit shows, so item listings
  skip them; while a response streams, each one is announced by a `progress_update` event.
- Every read and write is scoped by the request's user id: another user's thread is "not found".

Ids: ChatKit asks its store for an id before it stores anything, and our rows get theirs from the
database. So the view reserves the Conversation of a `threads.create` before the SDK asks for the
thread's id; a user message takes its row's id as it is stored (the SDK then sends that very item to
the client); an assistant message streams under a provisional ``draft_…`` id, kept for the rest of
that response, and is ``msg_<pk>`` once reloaded. (Nothing in the protocol addresses an assistant
message by id but feedback, which is not stored.)

Attachments, widgets' actions, client tools and transcription are not supported (the view refuses
those requests); the attachment methods of the Store raise NotImplementedError.

Modules: store.py (the Store), server.py (the ChatKitServer), views.py (the DRF view), schema.py (its OpenAPI).
Inside this package, ``from chatkit.… import`` is the third-party SDK (absolute imports); ours is ``chat.chatkit``.
"""

// How a frontend talks to the Django API: a Better Auth token as `Authorization: Bearer …`, every
// path under /api/<user id>/, errors as JSON `{detail}` or `{field: [messages]}`.
import { createAuthClient } from "better-auth/react";
import { jwtClient } from "better-auth/client/plugins";

export const authClient = createAuthClient({ plugins: [jwtClient()] });

export async function loadConfig() {
  const response = await fetch("/config.json");
  return response.json(); // {apiUrl, tokenKind}
}

/** Fetch a token for the API, reused until a minute before it expires. */
export function tokenSource(tokenKind) {
  let cached = null;
  return async function token() {
    if (cached && cached.exp - 60 > Date.now() / 1000) return cached.token;
    let value;
    if (tokenKind === "hs256" || tokenKind === "cookie-cache") {
      // hs256: signed by our own server with the secret it shares with the API; cookie-cache: Better
      // Auth's session cache cookie, which the page cannot read itself (server.mjs).
      const response = await fetch(`/token/${tokenKind}`, { credentials: "same-origin" });
      if (!response.ok) throw new Error("Could not get a token: are you signed in?");
      value = (await response.json()).token;
    } else {
      // The jwt plugin's token: EdDSA, verified by the API with the keys at /api/auth/jwks.
      const { data, error } = await authClient.token();
      if (error) throw new Error(error.message ?? "Could not get a token: are you signed in?");
      value = data.token;
    }
    const payload = JSON.parse(atob(value.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    cached = { token: value, exp: payload.exp };
    return value;
  };
}

/** The first message of an API error body: `{"detail": …}` or `{"title": ["…"]}`. */
function errorMessage(status, body) {
  if (body && typeof body === "object") {
    if (typeof body.detail === "string") return body.detail;
    for (const [field, messages] of Object.entries(body)) {
      const first = Array.isArray(messages) ? messages[0] : messages;
      if (typeof first === "string") return `${field}: ${first}`;
    }
  }
  return `The API answered ${status}.`;
}

/**
 * Read a Server-Sent Events body (a fetch() response) and call `onMessage({event, id, data})` for each
 * message, `data` parsed as JSON. EventSource cannot send the Authorization header, so the page reads
 * the stream itself: a blank line ends a message; a line starting with ":" is a comment (a heartbeat).
 */
export async function readEvents(response, onMessage) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let message = { event: "message", id: null, data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, "");
      buffer = buffer.slice(end + 1);
      if (line === "") {
        if (message.data.length) onMessage({ ...message, data: JSON.parse(message.data.join("\n")) });
        message = { event: "message", id: null, data: [] };
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") message.data.push(text);
        else if (field === "event") message.event = text;
        else if (field === "id") message.id = text;
      }
    }
  }
}

/**
 * Follow the user's live stream (GET /api/<user>/events) until `signal` aborts: `onEvent(cloudEvent)` for
 * each change, `onReset()` when the page should reload what it shows, `onStatus("live" | "reconnecting")`.
 * It reconnects after a drop, an `end` (the token expired: a fresh one is fetched) or an error, with the
 * last event id seen, so no change is missed meanwhile.
 */
export async function followEvents(apiUrl, userId, token, { onEvent, onReset, onStatus, signal }) {
  let lastId = null;
  while (!signal.aborted) {
    try {
      const response = await fetch(`${apiUrl}/api/${encodeURIComponent(userId)}/events`, {
        headers: { Authorization: `Bearer ${await token()}`, ...(lastId ? { "Last-Event-ID": lastId } : {}) },
        signal,
      });
      if (!response.ok) throw new Error(`The live stream answered ${response.status}.`);
      onStatus("live");
      if (lastId === null) onReset(); // what the page read before the stream opened may be stale
      await readEvents(response, ({ event, id, data }) => {
        if (event === "reset") onReset();
        if (event === "message") onEvent(data);
        if (id) lastId = id;
        else if (data?.last_event_id !== undefined) lastId = String(data.last_event_id);
      });
    } catch (exc) {
      if (signal.aborted) return;
    }
    onStatus("reconnecting");
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

export function apiClient(apiUrl, userId, token) {
  const base = `${apiUrl}/api/${encodeURIComponent(userId)}`;
  async function call(method, path, body) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${await token()}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new Error(errorMessage(response.status, data));
    return data;
  }
  return {
    // Lists: the Inbox (`inbox: true`) holds the tasks without a list (`list_id: null`).
    listLists: () => call("GET", "/lists"),
    addList: (name) => call("POST", "/lists", { name }),
    // One list's tasks, its subtasks at every level included: `list` is a list's id or "inbox".
    listTasks: (list) => call("GET", `/tasks?list=${encodeURIComponent(list)}`),
    // No `listId`: the Inbox. A subtask (`parentId`) goes to its parent's list.
    addTask: (title, { listId, parentId } = {}) =>
      call("POST", "/tasks", {
        title,
        ...(listId === undefined ? {} : { list_id: listId }),
        ...(parentId === undefined ? {} : { parent_id: parentId }),
      }),
    // The state the user chose, not a toggle, so a stale page cannot undo a completion; completing a
    // task completes its open subtasks too.
    setCompleted: (id, completed) => call("PATCH", `/tasks/${id}/complete`, { completed }),
    deleteTask: (id) => call("DELETE", `/tasks/${id}`), // to the trash, with its subtasks
    chat: (message, conversationId) =>
      call("POST", "/chat", conversationId ? { message, conversation_id: conversationId } : { message }),
    // The same turn as Server-Sent Events: onEvent(kind, data) for conversation, tool_call, delta, then
    // done (resolves with its data) or error (rejects with its detail).
    chatStream: async (message, conversationId, onEvent) => {
      const response = await fetch(`${base}/chat/stream`, {
        method: "POST",
        headers: { Authorization: `Bearer ${await token()}`, "Content-Type": "application/json" },
        body: JSON.stringify(conversationId ? { message, conversation_id: conversationId } : { message }),
      });
      if (!response.ok) throw new Error(errorMessage(response.status, await response.json().catch(() => null)));
      let result = null;
      let failure = null;
      await readEvents(response, ({ event, data }) => {
        onEvent(event, data);
        if (event === "done") result = data;
        if (event === "error") failure = data.detail;
      });
      if (failure || !result) throw new Error(failure ?? "The assistant's answer was cut off.");
      return result;
    },
  };
}

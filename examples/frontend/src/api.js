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
  };
}

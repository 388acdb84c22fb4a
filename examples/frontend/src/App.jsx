import { useCallback, useEffect, useMemo, useState } from "react";

import { apiClient, authClient, followEvents, loadConfig, tokenSource } from "./api.js";
import Lists, { listKey, sidebarLists } from "./Lists.jsx";
import Tasks from "./Tasks.jsx";

export default function App() {
  const [config, setConfig] = useState(null);
  const { data: session, isPending } = authClient.useSession();

  useEffect(() => {
    loadConfig().then(setConfig);
  }, []);

  if (!config || isPending) return <p>Loading…</p>;
  return (
    <main>
      <h1>Todo</h1>
      {session ? <SignedIn config={config} user={session.user} /> : <SignInForm />}
    </main>
  );
}

function SignInForm() {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    const action = event.nativeEvent.submitter?.value ?? "sign-in";
    const form = new FormData(event.currentTarget);
    const email = form.get("email");
    const password = form.get("password");
    setBusy(true);
    setError("");
    const { error } =
      action === "sign-up"
        ? await authClient.signUp.email({ name: form.get("name") || email, email, password })
        : await authClient.signIn.email({ email, password });
    setBusy(false);
    if (error) setError(error.message ?? "Could not sign in.");
  }

  return (
    <form onSubmit={submit} aria-label="Account">
      <label>
        Name <input name="name" autoComplete="name" />
      </label>
      <label>
        Email <input name="email" type="email" autoComplete="email" required />
      </label>
      <label>
        Password <input name="password" type="password" autoComplete="current-password" minLength={8} required />
      </label>
      <button type="submit" value="sign-in" disabled={busy}>
        Sign in
      </button>
      <button type="submit" value="sign-up" disabled={busy}>
        Sign up
      </button>
      {error && <p role="alert">{error}</p>}
    </form>
  );
}

function SignedIn({ config, user }) {
  const token = useMemo(() => tokenSource(config.tokenKind), [config.tokenKind]);
  const api = useMemo(() => apiClient(config.apiUrl, user.id, token), [config.apiUrl, user.id, token]);
  const [lists, setLists] = useState([]);
  const [selected, setSelected] = useState("inbox"); // listKey of the list shown
  const [shown, setShown] = useState({ key: null, tasks: [] }); // the tasks of the list `key`
  const [version, setVersion] = useState(0); // bumped by every change: the lists and tasks are read again
  const [error, setError] = useState("");

  // Every call goes through here: an API error is shown, never lost.
  const run = useCallback(async (action) => {
    setError("");
    try {
      return await action();
    } catch (exc) {
      setError(exc.message);
      return undefined;
    }
  }, []);
  const changed = useCallback(() => setVersion((current) => current + 1), []);

  useEffect(() => {
    let current = true; // an answer that arrives after the next read started is dropped
    run(async () => {
      const found = sidebarLists(await api.listLists());
      if (!current) return;
      setLists(found);
      // The list shown went away (deleted or archived elsewhere): show the Inbox.
      setSelected((key) => (found.some((list) => listKey(list) === key) ? key : "inbox"));
    });
    return () => {
      current = false;
    };
  }, [api, run, version]);

  useEffect(() => {
    let current = true;
    run(async () => {
      const found = await api.listTasks(selected);
      if (current) setShown({ key: selected, tasks: found });
    });
    return () => {
      current = false;
    };
  }, [api, run, selected, version]);

  // The live stream: another tab's (or the assistant's, or another device's) change shows here at once.
  const [live, setLive] = useState("connecting");
  useEffect(() => {
    const abort = new AbortController();
    let pending = null; // changes that come together are read once
    const refresh = () => {
      clearTimeout(pending);
      pending = setTimeout(changed, 100);
    };
    followEvents(config.apiUrl, user.id, token, {
      onEvent: refresh,
      onReset: refresh,
      onStatus: setLive,
      signal: abort.signal,
    });
    return () => {
      clearTimeout(pending);
      abort.abort();
    };
  }, [config.apiUrl, user.id, token, changed]);

  return (
    <>
      <p>
        Signed in as <strong>{user.email}</strong> <small data-testid="user-id">{user.id}</small>{" "}
        <small data-testid="live" className={live}>
          {live}
        </small>{" "}
        <button type="button" onClick={() => authClient.signOut()}>
          Sign out
        </button>
      </p>
      {error && <p role="alert">{error}</p>}
      <div className="workspace">
        <Lists api={api} run={run} lists={lists} selected={selected} onSelect={setSelected} onChange={changed} />
        <Tasks
          api={api}
          run={run}
          list={lists.find((list) => listKey(list) === selected)}
          listKey={selected}
          tasks={shown.key === selected ? shown.tasks : null}
          onChange={changed}
        />
      </div>
      <Chat api={api} run={run} onReply={changed} />
    </>
  );
}

function Chat({ api, run, onReply }) {
  const [message, setMessage] = useState("");
  const [conversationId, setConversationId] = useState(null);
  const [log, setLog] = useState([]);
  const [busy, setBusy] = useState(false);

  async function send(event) {
    event.preventDefault();
    const text = message;
    setBusy(true);
    setLog((current) => [...current, { role: "you", text }, { role: "assistant", text: "" }]);
    // The reply shows as it is written (delta events), through the server's async path.
    const showing = (update) => setLog((current) => [...current.slice(0, -1), update(current.at(-1))]);
    const reply = await run(() =>
      api.chatStream(text, conversationId, (kind, data) => {
        if (kind === "delta") showing((entry) => ({ ...entry, text: entry.text + data.text }));
      }),
    );
    setBusy(false);
    if (!reply) {
      setLog((current) => current.slice(0, -2)); // the error is shown; the message stays in the box
      return;
    }
    setMessage("");
    setConversationId(reply.conversation_id);
    showing((entry) => ({ ...entry, text: reply.response }));
    if (reply.tool_calls?.length) onReply(); // the assistant changed the tasks (the live stream says so too)
  }

  return (
    <section aria-label="Assistant">
      <h2>Assistant</h2>
      <ol aria-label="Conversation">
        {log.map((entry, index) => (
          <li key={index} className={entry.role}>
            <b>{entry.role}:</b> {entry.text}
          </li>
        ))}
      </ol>
      <form onSubmit={send}>
        <label>
          Message <input value={message} onChange={(e) => setMessage(e.target.value)} required />
        </label>
        <button type="submit" disabled={busy}>
          Send
        </button>
      </form>
    </section>
  );
}

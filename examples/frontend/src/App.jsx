import { useCallback, useEffect, useMemo, useState } from "react";

import { apiClient, authClient, loadConfig, tokenSource } from "./api.js";

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
  const api = useMemo(
    () => apiClient(config.apiUrl, user.id, tokenSource(config.tokenKind)),
    [config.apiUrl, config.tokenKind, user.id],
  );
  const [tasks, setTasks] = useState([]);
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

  const refresh = useCallback(() => run(async () => setTasks(await api.listTasks())), [api, run]);
  useEffect(() => {
    refresh();
  }, [refresh]);

  return (
    <>
      <p>
        Signed in as <strong>{user.email}</strong> <small data-testid="user-id">{user.id}</small>{" "}
        <button type="button" onClick={() => authClient.signOut()}>
          Sign out
        </button>
      </p>
      {error && <p role="alert">{error}</p>}
      <TaskList api={api} run={run} tasks={tasks} setTasks={setTasks} />
      <Chat api={api} run={run} onReply={refresh} />
    </>
  );
}

function TaskList({ api, run, tasks, setTasks }) {
  const [title, setTitle] = useState("");

  async function add(event) {
    event.preventDefault();
    const task = await run(() => api.addTask(title));
    if (task) {
      setTasks((current) => [task, ...current]);
      setTitle("");
    }
  }

  async function toggle(task) {
    const updated = await run(() => api.toggleTask(task.id));
    if (updated) setTasks((current) => current.map((t) => (t.id === updated.id ? updated : t)));
  }

  async function remove(task) {
    const done = await run(async () => (await api.deleteTask(task.id), true));
    if (done) setTasks((current) => current.filter((t) => t.id !== task.id));
  }

  return (
    <section aria-label="Tasks">
      <h2>Tasks</h2>
      <form onSubmit={add}>
        <label>
          New task <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} required />
        </label>
        <button type="submit">Add</button>
      </form>
      {tasks.length === 0 ? (
        <p>No tasks yet.</p>
      ) : (
        <ul>
          {tasks.map((task) => (
            <li key={task.id} className={task.completed ? "done" : undefined}>
              <label>
                <input type="checkbox" checked={task.completed} onChange={() => toggle(task)} />
                <span>{task.title}</span>
              </label>
              <button type="button" onClick={() => remove(task)} aria-label={`Delete ${task.title}`}>
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
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
    const reply = await run(() => api.chat(text, conversationId));
    setBusy(false);
    if (!reply) return; // the error is shown; the message stays in the box
    setMessage("");
    setConversationId(reply.conversation_id);
    setLog((current) => [...current, { role: "you", text }, { role: "assistant", text: reply.response }]);
    if (reply.tool_calls?.length) onReply(); // the assistant changed the tasks
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

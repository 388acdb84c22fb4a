import { useState } from "react";

// How deep the API lets tasks nest: a task, its subtasks and theirs (README, "Lists and subtasks").
const MAX_DEPTH = 3;

/**
 * One list's tasks as a tree: each task's subtasks under it (by `parent_id`), in position order; the
 * top-level tasks in the API's order (newest first). A task whose parent is not among them is top-level.
 */
export function nest(tasks) {
  const ids = new Set(tasks.map((task) => task.id));
  const children = new Map();
  for (const task of tasks) {
    const parent = ids.has(task.parent_id) ? task.parent_id : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(task);
  }
  for (const [parent, siblings] of children) {
    if (parent !== null) siblings.sort((a, b) => a.position - b.position || a.id - b.id);
  }
  const under = (parent) => (children.get(parent) ?? []).map((task) => ({ ...task, subtasks: under(task.id) }));
  return under(null);
}

/**
 * The selected list's tasks (null while they load), with their subtasks indented under them. Every
 * change re-reads the list.
 */
export default function Tasks({ api, run, list, listKey, tasks, onChange }) {
  const [title, setTitle] = useState("");
  const [addingTo, setAddingTo] = useState(null); // the task whose subtask form is open

  async function add(event) {
    event.preventDefault();
    const task = await run(() => api.addTask(title, { listId: listKey === "inbox" ? undefined : listKey }));
    if (task) {
      setTitle("");
      onChange();
    }
  }

  async function addSubtask(parent, subtaskTitle) {
    const task = await run(() => api.addTask(subtaskTitle, { parentId: parent.id }));
    if (task) onChange(); // the form stays open for the next one
    return Boolean(task);
  }

  // Re-read after each change: completing or deleting a task reaches its subtasks too.
  async function toggle(task) {
    if (await run(() => api.setCompleted(task.id, !task.completed))) onChange();
  }

  async function remove(task) {
    if (await run(async () => (await api.deleteTask(task.id), true))) onChange();
  }

  const actions = { toggle, remove, addSubtask, addingTo, setAddingTo };
  return (
    <section aria-label="Tasks" className="tasks">
      <h2>{list?.name ?? "Inbox"}</h2>
      <form onSubmit={add}>
        <label>
          New task <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} required />
        </label>
        <button type="submit">Add</button>
      </form>
      {tasks === null ? (
        <p>Loading…</p>
      ) : tasks.length === 0 ? (
        <p>No tasks yet.</p>
      ) : (
        <ul>
          {nest(tasks).map((task) => (
            <TaskItem key={task.id} task={task} depth={1} actions={actions} />
          ))}
        </ul>
      )}
    </section>
  );
}

function TaskItem({ task, depth, actions }) {
  const adding = actions.addingTo === task.id;
  return (
    <li className={task.completed ? "done" : undefined}>
      <div className="row">
        <label>
          <input type="checkbox" checked={task.completed} onChange={() => actions.toggle(task)} />
          <span>{task.title}</span>
        </label>
        <span className="actions">
          {depth < MAX_DEPTH && (
            <button
              type="button"
              aria-expanded={adding}
              aria-label={`Add subtask to ${task.title}`}
              onClick={() => actions.setAddingTo(adding ? null : task.id)}
            >
              Add subtask
            </button>
          )}
          <button type="button" onClick={() => actions.remove(task)} aria-label={`Delete ${task.title}`}>
            Delete
          </button>
        </span>
      </div>
      {adding && <SubtaskForm parent={task} actions={actions} />}
      {task.subtasks.length > 0 && (
        <ul aria-label={`Subtasks of ${task.title}`}>
          {task.subtasks.map((subtask) => (
            <TaskItem key={subtask.id} task={subtask} depth={depth + 1} actions={actions} />
          ))}
        </ul>
      )}
    </li>
  );
}

function SubtaskForm({ parent, actions }) {
  const [title, setTitle] = useState("");

  async function submit(event) {
    event.preventDefault();
    if (await actions.addSubtask(parent, title)) setTitle("");
  }

  return (
    <form onSubmit={submit} className="subtask">
      <label>
        New subtask of {parent.title}{" "}
        <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} required autoFocus />
      </label>
      <button type="submit">Add subtask</button>
      <button type="button" onClick={() => actions.setAddingTo(null)}>
        Cancel
      </button>
    </form>
  );
}

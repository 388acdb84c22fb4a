import { useState } from "react";

/** The sidebar: the user's lists (the Inbox first, then in their order) with their open tasks, and a new list. */
export default function Lists({ api, run, lists, selected, onSelect, onChange }) {
  const [name, setName] = useState("");

  async function create(event) {
    event.preventDefault();
    const created = await run(() => api.addList(name));
    if (created) {
      setName("");
      onChange();
    }
  }

  return (
    <nav aria-label="Lists" className="lists">
      <h2>Lists</h2>
      <ul>
        {lists.map((list) => (
          <li key={list.id}>
            <button
              type="button"
              aria-pressed={listKey(list) === selected}
              onClick={() => onSelect(listKey(list))}
            >
              <span>{list.name}</span>{" "}
              <small>
                {list.open_count}
                <span className="visually-hidden"> open</span>
                {list.overdue_count > 0 && <span className="overdue">, {list.overdue_count} overdue</span>}
              </small>
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={create}>
        <label>
          New list <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required />
        </label>
        <button type="submit">Create list</button>
      </form>
    </nav>
  );
}

/** What the page calls a list: "inbox" for the Inbox (the API's `?list=inbox`, and no `list_id`), else its id. */
export function listKey(list) {
  return list.inbox ? "inbox" : list.id;
}

/** The lists to show, the Inbox first, then by position (archived lists are left out). */
export function sidebarLists(lists) {
  return lists
    .filter((list) => !list.archived)
    .sort((a, b) => Number(b.inbox) - Number(a.inbox) || a.position - b.position || a.id - b.id);
}

// The conversation sidebar: start a new chat, continue, rename in place, delete.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConversationSummary } from '../lib/api';
import { formatDate } from '../lib/format';
import { PencilIcon, TrashIcon } from './icons';

interface Props {
  conversations: ConversationSummary[] | null;
  currentId: string | null;
  onNew: () => void;
  onOpen: (id: string) => void;
  onRename: (id: string, title: string) => Promise<void>;
  onDelete: (conversation: ConversationSummary) => void;
  onClose: () => void;
}

export function ConversationList({ conversations, currentId, onNew, onOpen, onRename, onDelete, onClose }: Props) {
  const [editing, setEditing] = useState<string | null>(null);

  return (
    <aside
      class="sidebar"
      id="conversation-list"
      aria-label="Conversations"
      onKeyDown={(e) => e.key === 'Escape' && !editing && onClose()}
    >
      <button type="button" class="button primary new-chat" onClick={onNew}>
        + New chat
      </button>
      <h2 class="sidebar-title">Conversations</h2>
      {conversations === null ? (
        <p class="muted">Loading…</p>
      ) : conversations.length === 0 ? (
        <p class="muted">No conversations yet. Ask a question to start one.</p>
      ) : (
        <ul class="conversation-list">
          {conversations.map((c) => (
            <li key={c.id} class={c.id === currentId ? 'current' : undefined}>
              {editing === c.id ? (
                <RenameForm
                  initial={c.title}
                  onCancel={() => setEditing(null)}
                  onSave={async (title) => {
                    await onRename(c.id, title);
                    setEditing(null);
                  }}
                />
              ) : (
                <>
                  <button
                    type="button"
                    class="conversation-open"
                    aria-current={c.id === currentId ? 'true' : undefined}
                    onClick={() => onOpen(c.id)}
                  >
                    <span class="conversation-title">{c.title || 'Untitled'}</span>
                    <span class="conversation-date">{formatDate(c.updated_at)}</span>
                  </button>
                  <div class="conversation-actions">
                    <button
                      type="button"
                      class="icon-button"
                      aria-label={`Rename “${c.title || 'Untitled'}”`}
                      title="Rename"
                      onClick={() => setEditing(c.id)}
                    >
                      <PencilIcon />
                    </button>
                    <button
                      type="button"
                      class="icon-button"
                      aria-label={`Delete “${c.title || 'Untitled'}”`}
                      title="Delete"
                      onClick={() => onDelete(c)}
                    >
                      <TrashIcon />
                    </button>
                  </div>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}

function RenameForm({
  initial,
  onSave,
  onCancel,
}: {
  initial: string;
  onSave: (title: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [title, setTitle] = useState(initial);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);
  return (
    <form
      class="rename-form"
      onSubmit={(e) => {
        e.preventDefault();
        const trimmed = title.trim();
        if (trimmed && trimmed !== initial) void onSave(trimmed);
        else onCancel();
      }}
    >
      <label class="visually-hidden" for="rename-input">
        New title
      </label>
      <input
        id="rename-input"
        ref={input}
        value={title}
        maxLength={200}
        onInput={(e) => setTitle(e.currentTarget.value)}
        onKeyDown={(e) => e.key === 'Escape' && (e.stopPropagation(), onCancel())}
      />
      <button type="submit" class="button small">
        Save
      </button>
    </form>
  );
}

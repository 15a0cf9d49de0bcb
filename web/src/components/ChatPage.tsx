// The chat page: conversations on the side, the thread with streamed Markdown answers, the
// composer, and the source panel that a citation opens.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Api, Citation, ConversationSummary, Model } from '../lib/api';
import { citedNumbers, parseMarkdown } from '../lib/markdown';
import { ConfirmDialog, ErrorBanner, isAbort, type ConfirmRequest } from './common';
import { ConversationList } from './ConversationList';
import { MenuIcon } from './icons';
import { Markdown } from './Markdown';
import { SourcePanel } from './SourcePanel';

interface UiMessage {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  citations: Citation[] | null;
  streaming?: boolean;
  stopped?: boolean;
  failed?: boolean;
}

const ALL_COLLECTIONS = 'enclave';
let nextId = 1;

export function ChatPage({ api, active }: { api: Api; active: boolean }) {
  const [conversations, setConversations] = useState<ConversationSummary[] | null>(null);
  const [currentId, setCurrentId] = useState<string | null>(null);
  const [messages, setMessages] = useState<UiMessage[]>([]);
  const [models, setModels] = useState<Model[]>([]);
  const [model, setModel] = useState<string>(ALL_COLLECTIONS);
  const [draft, setDraft] = useState('');
  const [streaming, setStreaming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [source, setSource] = useState<{ citation: Citation; trigger: HTMLElement | null } | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const [loadingThread, setLoadingThread] = useState(false);
  const controller = useRef<AbortController | null>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  const thread = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);

  const refreshConversations = useCallback(async () => {
    try {
      const { conversations } = await api.listConversations();
      setConversations(conversations);
    } catch (err) {
      setConversations((c) => c ?? []);
      setError(err);
    }
  }, [api]);

  // Collections appear as documents arrive, so the picker refreshes each time the page is shown.
  const loadModels = useCallback(() => {
    api.models().then(
      ({ data }) => {
        setModels(data);
        // A chosen collection that no longer exists falls back to all collections.
        setModel((m) => (data.some((d) => d.id === m) ? m : ALL_COLLECTIONS));
      },
      () => setModels([]),
    );
  }, [api]);

  useEffect(() => {
    void refreshConversations();
    return () => controller.current?.abort();
  }, [api]);

  useEffect(() => {
    if (active) loadModels();
  }, [loadModels, active]);

  // Follow the answer as it streams, unless the reader scrolled up to read something else.
  useEffect(() => {
    const el = thread.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [messages]);

  // On a phone the conversation list is an overlay: focus moves into it and back out again.
  const toggle = useRef<HTMLButtonElement>(null);
  const sidebarWasOpen = useRef(false);
  useEffect(() => {
    if (sidebarOpen) document.querySelector<HTMLElement>('#conversation-list button')?.focus();
    else if (sidebarWasOpen.current && getComputedStyle(toggle.current!).display !== 'none') toggle.current?.focus();
    sidebarWasOpen.current = sidebarOpen;
  }, [sidebarOpen]);

  const onScroll = () => {
    const el = thread.current;
    if (el) stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  };

  const stop = () => controller.current?.abort();

  const openConversation = async (id: string) => {
    stop();
    setSidebarOpen(false);
    setSource(null);
    setError(null);
    setCurrentId(id);
    setLoadingThread(true);
    try {
      const conversation = await api.getConversation(id);
      setMessages(
        conversation.messages
          .filter((m) => m.role === 'user' || m.role === 'assistant')
          .map((m) => ({
            id: nextId++,
            role: m.role as 'user' | 'assistant',
            content: m.content,
            citations: m.citations ?? null,
          })),
      );
      stickToBottom.current = true;
    } catch (err) {
      setError(err);
      setMessages([]);
    } finally {
      setLoadingThread(false);
    }
    composer.current?.focus();
  };

  const newConversation = () => {
    stop();
    setCurrentId(null);
    setMessages([]);
    setSource(null);
    setError(null);
    setSidebarOpen(false);
    composer.current?.focus();
  };

  const renameConversation = async (id: string, title: string) => {
    try {
      await api.renameConversation(id, title);
      await refreshConversations();
    } catch (err) {
      setError(err);
    }
  };

  const deleteConversation = (conversation: ConversationSummary) =>
    setConfirm({
      title: 'Delete conversation?',
      message: `“${conversation.title || 'Untitled'}” and its messages will be deleted. This cannot be undone.`,
      confirmLabel: 'Delete',
      onConfirm: async () => {
        try {
          await api.deleteConversation(conversation.id);
          if (conversation.id === currentId) newConversation();
          await refreshConversations();
        } catch (err) {
          setError(err);
        }
      },
    });

  const send = async () => {
    const text = draft.trim();
    if (!text || streaming) return;
    setError(null);
    setSource(null);
    const user: UiMessage = { id: nextId++, role: 'user', content: text, citations: null };
    const answer: UiMessage = { id: nextId++, role: 'assistant', content: '', citations: null, streaming: true };
    // A saved conversation keeps its history on the server, so only the new question travels;
    // this keeps long conversations under the request size limit.
    const history = (currentId ? [user] : [...messages.filter((m) => !m.failed), user]).map((m) => ({
      role: m.role,
      content: m.content,
    }));
    setMessages((list) => [...list, user, answer]);
    setDraft('');
    stickToBottom.current = true;

    const update = (change: (m: UiMessage) => UiMessage) =>
      setMessages((list) => list.map((m) => (m.id === answer.id ? change(m) : m)));

    const abort = new AbortController();
    controller.current = abort;
    let received = '';
    setStreaming(true);
    try {
      const result = await api.streamChat(
        { model, messages: history, ...(currentId ? { conversation_id: currentId } : {}) },
        (delta) => {
          received += delta;
          update((m) => ({ ...m, content: m.content + delta }));
        },
        abort.signal,
      );
      update((m) => ({ ...m, streaming: false, citations: result.citations }));
      if (result.conversationId && result.conversationId !== currentId) setCurrentId(result.conversationId);
      void refreshConversations();
    } catch (err) {
      if (isAbort(err)) {
        update((m) => ({ ...m, streaming: false, stopped: true }));
      } else {
        setError(err);
        if (!received) {
          // Nothing was answered: take the question back into the composer so it can be sent again.
          setMessages((list) => list.filter((m) => m.id !== answer.id && m.id !== user.id));
          setDraft((d) => d || text);
        } else {
          update((m) => ({ ...m, streaming: false, failed: true }));
        }
      }
    } finally {
      if (controller.current === abort) controller.current = null;
      setStreaming(false);
    }
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void send();
    }
  };

  const openSource = (citation: Citation, trigger: HTMLElement | null) => setSource({ citation, trigger });
  const closeSource = () => {
    const trigger = source?.trigger;
    setSource(null);
    if (trigger?.isConnected) trigger.focus();
  };

  const collections = models.filter((m) => m.id.startsWith(`${ALL_COLLECTIONS}:`));
  const currentTitle = conversations?.find((c) => c.id === currentId)?.title;

  return (
    <div class={`chat${source ? ' with-source' : ''}${sidebarOpen ? ' sidebar-open' : ''}`}>
      <ConversationList
        conversations={conversations}
        currentId={currentId}
        onNew={newConversation}
        onOpen={(id) => void openConversation(id)}
        onRename={renameConversation}
        onDelete={deleteConversation}
        onClose={() => setSidebarOpen(false)}
      />
      {sidebarOpen && (
        <button
          type="button"
          class="sidebar-backdrop"
          aria-label="Close conversations"
          onClick={() => setSidebarOpen(false)}
        />
      )}
      <section class="thread-pane" aria-labelledby="thread-title">
        <div class="thread-head">
          <button
            type="button"
            ref={toggle}
            class="button ghost sidebar-toggle"
            aria-expanded={sidebarOpen}
            aria-controls="conversation-list"
            onClick={() => setSidebarOpen((o) => !o)}
          >
            <MenuIcon /> <span class="visually-hidden">Show conversations</span>
          </button>
          <h1 id="thread-title" class="thread-title">
            {currentTitle ?? 'New conversation'}
          </h1>
          <label class="collection-picker">
            <span>Search in</span>
            <select
              value={model}
              onChange={(e) => setModel(e.currentTarget.value)}
              aria-label="Collection to search"
            >
              <option value={ALL_COLLECTIONS}>All collections</option>
              {collections.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.id.slice(ALL_COLLECTIONS.length + 1)}
                </option>
              ))}
            </select>
          </label>
        </div>

        <div
          class="thread"
          ref={thread}
          onScroll={onScroll}
          role="log"
          aria-live="polite"
          aria-busy={streaming || loadingThread}
          aria-label="Messages"
          data-testid="thread"
        >
          {loadingThread && <p class="muted center">Loading conversation…</p>}
          {!loadingThread && messages.length === 0 && (
            <div class="empty-thread">
              <h2>Ask your documents</h2>
              <p class="muted">
                Answers cite their sources with numbers like <span class="cite pending">[1]</span>; select one to
                see the passage and open the original.
              </p>
            </div>
          )}
          {messages.map((message) => (
            <MessageView key={message.id} message={message} onCite={openSource} />
          ))}
        </div>

        {error !== null && <ErrorBanner error={error} onDismiss={() => setError(null)} />}

        <form
          class="composer"
          onSubmit={(e) => {
            e.preventDefault();
            void send();
          }}
        >
          <label for="composer-input" class="visually-hidden">
            Message
          </label>
          <textarea
            id="composer-input"
            ref={composer}
            rows={1}
            placeholder="Ask a question about your documents…"
            value={draft}
            onInput={(e) => setDraft(e.currentTarget.value)}
            onKeyDown={onKeyDown}
            aria-describedby="composer-hint"
          />
          {streaming ? (
            <button type="button" class="button danger" onClick={stop}>
              Stop
            </button>
          ) : (
            <button type="submit" class="button primary" disabled={!draft.trim()}>
              Send
            </button>
          )}
          <p id="composer-hint" class="hint">
            Enter sends, Shift+Enter starts a new line.
          </p>
        </form>
      </section>
      {source && <SourcePanel api={api} citation={source.citation} onClose={closeSource} />}
      <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />
    </div>
  );
}

function MessageView({ message, onCite }: { message: UiMessage; onCite: (c: Citation, t: HTMLElement | null) => void }) {
  if (message.role === 'user') {
    return (
      <article class="message user" aria-label="You said">
        <p class="message-text">{message.content}</p>
      </article>
    );
  }
  const cited = useMemo(
    () => (message.citations?.length ? citedNumbers(parseMarkdown(message.content)) : []),
    [message.content, message.citations],
  );
  // Every source the answer was given is listed; the ones its text cites are marked.
  const sources = [...(message.citations ?? [])].sort((a, b) => a.index - b.index);
  return (
    <article
      class={`message assistant${message.streaming ? ' streaming' : ''}`}
      aria-label="Enclave answered"
      data-testid="answer"
      data-streaming={message.streaming ? 'true' : 'false'}
    >
      {message.content ? (
        <Markdown text={message.content} citations={message.citations} onCite={onCite} />
      ) : (
        message.streaming && <p class="muted typing">Searching your documents…</p>
      )}
      {message.stopped && <p class="note">Stopped before the answer was complete.</p>}
      {message.failed && <p class="note">The answer was cut off by an error.</p>}
      {sources.length > 0 && (
        <div class="sources">
          <h3 class="sources-title">Sources</h3>
          <ol class="source-list">
            {sources.map((c) => (
              <li key={c.index}>
                <button
                  type="button"
                  class={`source-chip${cited.includes(c.index) ? ' cited' : ''}`}
                  data-source={c.index}
                  aria-label={`Source ${c.index}: ${c.filename}${c.page ? `, page ${c.page}` : ''}${
                    cited.includes(c.index) ? ', cited' : ''
                  }`}
                  onClick={(e) => onCite(c, e.currentTarget)}
                >
                  <span class="source-index">{c.index}</span>
                  <span class="source-name">{c.filename}</span>
                  {c.page ? <span class="source-page">p. {c.page}</span> : null}
                </button>
              </li>
            ))}
          </ol>
        </div>
      )}
    </article>
  );
}

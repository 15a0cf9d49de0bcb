// The shell: sign-in gate, header with tenant and role, and the page chosen by the URL hash.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api, ApiError, type Me } from '../lib/api';
import { clearKey, loadKey, saveKey } from '../lib/session';
import { AdminPage } from './AdminPage';
import { AuditPage } from './AuditPage';
import { ChatPage } from './ChatPage';
import { DocumentsPage } from './DocumentsPage';
import { SignIn } from './SignIn';
import { UsersGroupsPage } from './UsersGroupsPage';

type Page = 'chat' | 'documents' | 'keys' | 'people' | 'audit';
const ADMIN_PAGES: Page[] = ['keys', 'people', 'audit'];

function pageFromHash(): Page {
  const name = location.hash.replace(/^#\/?/, '') as Page;
  return name === 'documents' || ADMIN_PAGES.includes(name) ? name : 'chat';
}

interface Session {
  key: string;
  me: Me | null;
}

export function App() {
  const [session, setSession] = useState<Session | null>(() => {
    const key = loadKey();
    return key ? { key, me: null } : null;
  });
  const [notice, setNotice] = useState<string | null>(null);
  const [page, setPage] = useState<Page>(pageFromHash);
  const visited = useRef(new Set<Page>());

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const signOut = useCallback((message: string | null = null) => {
    clearKey();
    setSession(null);
    visited.current = new Set();
    setNotice(message);
  }, []);

  const api = useMemo(
    () =>
      session
        ? new Api(session.key, () =>
            signOut('Your key is no longer accepted; it may have been revoked. Sign in with a valid key.'),
          )
        : null,
    [session?.key, signOut],
  );

  // A key restored from sessionStorage is checked again before anything is shown.
  useEffect(() => {
    if (!api || session?.me) return;
    let cancelled = false;
    api.me().then(
      (me) => !cancelled && setSession((s) => (s ? { ...s, me } : s)),
      (err) => {
        if (cancelled) return;
        if (!(err instanceof ApiError && err.status === 401)) signOut(err instanceof Error ? err.message : String(err));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [api, session?.me]);

  const signIn = (key: string, me: Me) => {
    saveKey(key);
    setNotice(null);
    setSession({ key, me });
  };

  if (!session || !api) return <SignIn notice={notice} onSignedIn={signIn} />;
  if (!session.me) {
    return (
      <main class="centered" aria-busy="true">
        <p role="status">Checking your key…</p>
      </main>
    );
  }

  const me = session.me;
  const current: Page = ADMIN_PAGES.includes(page) && me.role !== 'admin' ? 'chat' : page;
  visited.current.add(current);
  const tabs: { id: Page; label: string }[] = [
    { id: 'chat', label: 'Chat' },
    { id: 'documents', label: 'Documents' },
    ...(me.role === 'admin'
      ? [
          { id: 'keys' as Page, label: 'Keys' },
          { id: 'people' as Page, label: 'Users and groups' },
          { id: 'audit' as Page, label: 'Audit log' },
        ]
      : []),
  ];

  return (
    <div class="shell">
      {/* The URL hash holds the page, so the skip link moves focus itself instead of changing it. */}
      <a
        class="skip-link"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand" aria-label="Enclave">
          <span class="brand-mark" aria-hidden="true">◆</span> Enclave
        </span>
        <nav aria-label="Sections" class="tabs">
          {tabs.map((tab) => (
            <a
              key={tab.id}
              href={`#/${tab.id}`}
              class={`tab${current === tab.id ? ' active' : ''}`}
              aria-current={current === tab.id ? 'page' : undefined}
            >
              {tab.label}
            </a>
          ))}
        </nav>
        <div class="whoami">
          <span class="tenant" title={`Key: ${me.key_name}`} data-testid="tenant-name">
            {me.tenant_name}
          </span>
          <span class={`role-badge role-${me.role}`} data-testid="role">
            {me.role}
          </span>
          <button type="button" class="button ghost" onClick={() => signOut(null)}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" class="content" tabIndex={-1}>
        {/* Chat and Documents stay mounted once opened, so a streaming answer or a running
            upload carries on while the other page is in view. */}
        {visited.current.has('chat') && (
          <div class="page-slot" hidden={current !== 'chat'}>
            <ChatPage api={api} active={current === 'chat'} />
          </div>
        )}
        {visited.current.has('documents') && (
          <div class="page-slot" hidden={current !== 'documents'}>
            <DocumentsPage api={api} me={me} active={current === 'documents'} />
          </div>
        )}
        {current === 'keys' && <AdminPage api={api} me={me} />}
        {current === 'people' && <UsersGroupsPage api={api} me={me} />}
        {current === 'audit' && <AuditPage api={api} me={me} />}
      </main>
    </div>
  );
}

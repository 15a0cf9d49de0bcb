// Entry point: mounts the app (behind the single sign-on return, when the page load is one).
import { render } from 'preact';
import { App } from './components/App';
import { SsoReturn } from './components/SsoReturn';
import './styles.css';

render(
  <SsoReturn>
    <App />
  </SsoReturn>,
  document.getElementById('app')!,
);

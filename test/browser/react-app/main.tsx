// A tiny React application using the packages as an application would: imported by package name,
// resolved by Vite through node_modules (the workspace links) to what the packages' `exports` name.
// The gateway's URL and the channels come from the query string.
import { OdinProvider } from '@odin-gateway/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';

const params = new URLSearchParams(location.search);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <OdinProvider url={params.get('ws')!} options={{ reconnect: { baseMs: 100, capMs: 1_000 } }}>
      <App channels={[params.get('channel')!, params.get('other')!]} />
    </OdinProvider>
  </StrictMode>,
);

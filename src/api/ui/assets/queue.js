// The approver's queue: every pending request the caller may decide now (never their own,
// never one they already approved), each as a decision card.

import { api } from './api.js';
import { errorBox, h, show } from './dom.js';
import { requestCard } from './request.js';

export async function queue() {
  let data;
  try {
    data = await api('GET', '/requests?status=pending&decidable=true');
  } catch (e) {
    show(h('h1', {}, 'Waiting for your decision'), errorBox(e));
    return;
  }
  // The one that expires first comes first.
  const items = data.requests.sort((a, b) => Date.parse(a.expires_at) - Date.parse(b.expires_at));
  const cards = await Promise.all(items.map((r) => requestCard(r, { onDone: queue })));
  show(
    h('h1', {}, 'Waiting for your decision'),
    h('p', { class: 'hint' }, items.length
      ? `${items.length} request(s) you may approve or deny. The one expiring first is on top.`
      : 'Nothing waits for you. Links in notifications open a request directly.'),
    cards,
  );
}

/** How many requests wait for the caller (for the navigation badge). */
export async function queueCount() {
  try {
    const data = await api('GET', '/requests?status=pending&decidable=true');
    return data.requests.length;
  } catch {
    return 0;
  }
}

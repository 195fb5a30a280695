// The approver's queue: the pending requests the caller may decide now (never their own,
// never one they already approved), each as a decision card, the one expiring first on top.
// The server sends it a page at a time (`next` is the cursor of the following page).

import { api, q } from './api.js';
import { errorBox, h, show } from './dom.js';
import { requestCard } from './request.js';

const PAGE = 50;
const QUEUE = `/requests?status=pending&decidable=true&limit=${PAGE}`;

export async function queue() {
  let data;
  try {
    data = await api('GET', QUEUE);
  } catch (e) {
    show(h('h1', {}, 'Waiting for your decision'), errorBox(e));
    return;
  }
  const list = h('div', { class: 'queue' });
  const hint = h('p', { class: 'hint', role: 'status' });
  const more = h('p', {});
  let shown = 0;
  const add = async (page) => {
    const cards = await Promise.all(page.requests.map((r) => requestCard(r, { onDone: queue })));
    list.append(...cards);
    shown += page.requests.length;
    hint.textContent = shown
      ? `${shown}${page.next ? '+' : ''} request(s) you may approve or deny. The one expiring first is on top.`
      : 'Nothing waits for you. Links in notifications open a request directly.';
    more.replaceChildren(page.next ? h('button', {
      type: 'button', class: 'secondary',
      onclick: async (ev) => {
        ev.target.disabled = true;
        try {
          await add(await api('GET', `${QUEUE}&cursor=${q(page.next)}`));
        } catch (e) {
          more.replaceChildren(errorBox(e));
        }
      },
    }, 'Show more') : '');
  };
  show(h('h1', {}, 'Waiting for your decision'), hint, list, more);
  await add(data);
}

/** How many requests wait for the caller, for the navigation badge: `"50+"` past one page. */
export async function queueCount() {
  try {
    const data = await api('GET', QUEUE);
    return data.requests.length ? `${data.requests.length}${data.next ? '+' : ''}` : '';
  } catch {
    return '';
  }
}

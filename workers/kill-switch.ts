// The worker's end of DeliveryPool.killAll(): an AbortSignal that fires when the pool
// announces a forced shutdown on its BroadcastChannel. One per worker thread.

import { setMaxListeners } from 'node:events';
import { BroadcastChannel } from 'node:worker_threads';

/** A signal that never fires when there is no channel (deliver() called outside a pool). */
export function createKillSwitch(channelName: string | undefined): AbortSignal {
  const controller = new AbortController();
  // Every running program of the thread listens to it: many at once is the normal case.
  setMaxListeners(0, controller.signal);
  if (channelName === undefined) return controller.signal;
  const channel = new BroadcastChannel(channelName);
  // The channel must not keep an idle worker alive, nor block pool.close().
  channel.unref();
  channel.onmessage = () => controller.abort();
  return controller.signal;
}

// pkg/ is built with `--target web` so that the same files load in a browser page without a
// bundler; Node has no fetch of file: URLs for wasm, so the tests instantiate synchronously.
import { readFileSync } from 'node:fs';
import { initSync } from '../../pkg/bacalhau_state_wasm.js';

initSync({ module: readFileSync(new URL('../../pkg/bacalhau_state_wasm_bg.wasm', import.meta.url)) });

export * from '../../pkg/bacalhau_state_wasm.js';

/** Runs `fn` and returns what it threw (fails when it does not throw). */
export function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

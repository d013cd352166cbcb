//! What makes a store class and its transaction class, written once for both stores: how an
//! operation reaches the store or the open transaction (`run`), and the constructor,
//! `fromSnapshot`, `transaction` and `close`, and the methods of `common.rs`. The store's own
//! operations come from its module's macro (`compute_ops!`, `job_ops!`).

/// Emits, in the invoking module (which defines `F`, the two classes with `inner`, `manual` and
/// `slot` fields, and imports what the compute module imports):
/// - `Tx` and `Op`: the open transaction with its lifetimes erased, and one boxed operation;
/// - `run` of the store (a one-operation transaction) and of the transaction handle;
/// - `with`/`with_bytes` of both (`common::with_op!`);
/// - the store's constructor, `fromSnapshot`, `transaction` and `close`;
/// - the methods of `common.rs` (`stats:` is the TypeScript type of `stats()`).
///
/// `core:` names the core's transaction type and its error, `errors:` the function that turns
/// that error into a JS error, `build:` the `StoreBuilder` method that makes the in-memory
/// store, `callback:` the TypeScript type of `transaction`'s argument.
macro_rules! store_class {
    (
        classes: $store:ident / $handle:ident,
        core: $tx:ident / $err:ident,
        errors: error::$to_js:ident,
        build: $build:ident,
        callback: $callback:literal,
        stats: $stats:literal $(,)?
    ) => {
        /// The open transaction, with its lifetimes erased so a JS-owned handle can point at it.
        type Tx = $tx<'static, MemoryWrite<'static>>;

        /// One operation on the open transaction, returning its result's CBOR. Boxed so that
        /// the store and the transaction handle each run every operation through one compiled
        /// function: the transaction machinery is not copied into each method of each class.
        type Op<'o> = Box<dyn for<'a> FnOnce(&mut $tx<'a, MemoryWrite<'a>>) -> Result<Vec<u8>, $err> + 'o>;

        impl $store {
            /// Every operation, reads included, runs as a one-operation write transaction.
            /// Observably the same as the core's read path here (one thread, a read-only write
            /// transaction commits nothing), and it halves the code size: each operation is
            /// compiled once, for the write transaction that `transaction` callbacks need
            /// anyway, not again for the read one.
            fn run(&self, op: Op<'_>) -> Result<Vec<u8>, JsValue> {
                self.inner.transaction(|tx| op(tx)).map_err(error::$to_js)
            }
        }

        impl $handle {
            /// Safety argument: `slot` is non-null only while the store's `transaction` is
            /// inside the JS callback, and during that call the core's `&mut` transaction lives
            /// on that Rust stack frame and is not touched by it; the pointer is cleared before
            /// that frame uses or drops the transaction again. Taking the pointer out of the
            /// slot for the duration of `op` makes a nested use (e.g. a JS getter re-entering
            /// this handle) see null instead of creating a second `&mut`. Wasm is
            /// single-threaded and `Rc` keeps the handle on this thread.
            fn run(&self, op: Op<'_>) -> Result<Vec<u8>, JsValue> {
                let p = self.slot.replace(ptr::null_mut());
                if p.is_null() {
                    return Err(error::tx_inactive(F));
                }
                // SAFETY: see above; `p` points at the live transaction and no other reference
                // to it is in use until `op` returns.
                let out = op(unsafe { &mut *p });
                self.slot.set(p);
                out.map_err(error::$to_js)
            }
        }

        crate::common::with_op!($store, $tx, $err);
        crate::common::with_op!($handle, $tx, $err);
        crate::common::shared_ops!($store, $stats);
        crate::common::shared_ops!($handle, $stats);
        crate::common::clock_ops!($store);

        /// Why a JS transaction did not commit.
        enum TxFail {
            Store($err),
            Js(JsValue),
        }

        impl From<$err> for TxFail {
            fn from(e: $err) -> Self {
                TxFail::Store(e)
            }
        }

        #[wasm_bindgen]
        impl $store {
            /// An empty in-memory store. `options.strict` (default `true`) selects the
            /// transition policy; `options.clock` is `"system"` (default, `Date.now()`) or a
            /// manual clock `{ start, step }` in nanoseconds, `step` being added after every
            /// reading.
            #[wasm_bindgen(constructor)]
            pub fn new(
                #[wasm_bindgen(unchecked_optional_param_type = "StoreOptions | null")] options: JsValue,
            ) -> Result<$store, JsValue> {
                let o = crate::open(F, &options)?;
                Ok($store { inner: o.builder.$build(), manual: o.manual })
            }

            /// A new store (with `options`) holding the contents of snapshot `bytes`. A
            /// truncated, altered or foreign snapshot throws a typed error and no store is made.
            /// (Static, so not named `importSnapshot`: wasm-bindgen exports a static and an
            /// instance method of the same name under one symbol, and the instance method keeps
            /// the core's name.)
            #[wasm_bindgen(js_name = fromSnapshot)]
            pub fn from_snapshot(
                #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
                #[wasm_bindgen(unchecked_optional_param_type = "StoreOptions | null")] options: JsValue,
            ) -> Result<$store, JsValue> {
                let store = $store::new(options)?;
                store.import_snapshot(bytes)?;
                Ok(store)
            }

            /// Runs `callback(tx)` in one transaction: everything it does through `tx` commits
            /// when it returns, and nothing does if it throws (the error is rethrown). Returns
            /// the callback's result. The callback must be synchronous; calling the store itself
            /// inside it throws `Reentrant`.
            #[wasm_bindgen(unchecked_return_type = "unknown")]
            pub fn transaction(
                &self,
                #[wasm_bindgen(unchecked_param_type = $callback)] callback: JsValue,
            ) -> Result<JsValue, JsValue> {
                let Some(callback) = callback.dyn_ref::<Function>() else {
                    return Err(error::invalid(F, "callback", "expected a function"));
                };
                let slot: Rc<Cell<*mut Tx>> = Rc::new(Cell::new(ptr::null_mut()));
                let handle = JsValue::from($handle { slot: slot.clone() });
                let out = self.inner.transaction(|tx| -> Result<JsValue, TxFail> {
                    slot.set(ptr::from_mut(tx).cast::<Tx>());
                    let result = callback.call1(&JsValue::UNDEFINED, &handle);
                    slot.set(ptr::null_mut());
                    let value = result.map_err(TxFail::Js)?;
                    if value.is_instance_of::<js_sys::Promise>() {
                        return Err(TxFail::Js(error::invalid(
                            F,
                            "callback",
                            "returned a Promise: transaction callbacks must be synchronous (nothing was committed)",
                        )));
                    }
                    Ok(value)
                });
                out.map_err(|e| match e {
                    TxFail::Store(e) => error::$to_js(e),
                    TxFail::Js(v) => v,
                })
            }

            /// Closes the store; idempotent. Every later call throws `Closed`.
            pub fn close(&self) -> Result<(), JsValue> {
                self.inner.close().map_err(error::$to_js)
            }
        }
    };
}
pub(crate) use store_class;

//! Methods every JS store and transaction class has, written once: the event log, checkpoints,
//! snapshots and the consistency check. Each invocation emits its own `#[wasm_bindgen] impl`
//! block (wasm-bindgen allows several per class); `F`, `with`, `run`, `convert` and `js`
//! resolve in the invoking module, so each class keeps its own error family.

/// The log, snapshot and check methods of one class; `$stats` is the TypeScript name of its
/// `stats()` result.
macro_rules! shared_ops {
    ($t:ident, $stats:tt) => {
        #[wasm_bindgen]
        impl $t {
            /// Counts per state, totals and the last event sequence number.
            #[wasm_bindgen(unchecked_return_type = $stats)]
            pub fn stats(&self) -> Result<JsValue, JsValue> {
                convert::plain_js(F, self.with(|r| r.stats())?)
            }

            /// Events after sequence number `after` (default 0), oldest first; `limit` 0 or
            /// absent means all.
            #[wasm_bindgen(js_name = eventsAfter, unchecked_return_type = "Event[]")]
            pub fn events_after(
                &self,
                #[wasm_bindgen(unchecked_optional_param_type = "bigint | number | null")] after: JsValue,
                #[wasm_bindgen(unchecked_optional_param_type = "number | bigint | null")] limit: JsValue,
            ) -> Result<JsValue, JsValue> {
                let after = convert::opt_u64(F, &after, "after")?;
                let limit = convert::opt_u32(F, &limit, "limit")?;
                js(F, self.with(|r| r.events_after(after, limit))?)
            }

            /// Stores `seq` under the consumer name `name`.
            pub fn checkpoint(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
                #[wasm_bindgen(unchecked_param_type = "bigint | number")] seq: JsValue,
            ) -> Result<(), JsValue> {
                let name = convert::string(F, &name, "name")?;
                let seq = convert::u64_value(F, &seq, "seq")?;
                self.with(|r| r.checkpoint(&name, seq)).map(drop)
            }

            /// The sequence number stored under `name`, or `null`.
            #[wasm_bindgen(js_name = getCheckpoint, unchecked_return_type = "bigint | null")]
            pub fn get_checkpoint(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
            ) -> Result<JsValue, JsValue> {
                let name = convert::string(F, &name, "name")?;
                js(F, self.with(|r| r.get_checkpoint(&name))?)
            }

            /// The store's contents as snapshot bytes (versioned CBOR with a magic header and a
            /// checksum; byte-identical to a native export of the same contents).
            #[wasm_bindgen(js_name = exportSnapshot)]
            pub fn export_snapshot(&self) -> Result<js_sys::Uint8Array, JsValue> {
                let bytes = self.with_bytes(|r| r.export_snapshot())?;
                Ok(js_sys::Uint8Array::from(&bytes[..]))
            }

            /// Loads snapshot bytes into this store, which must be empty (all or nothing).
            #[wasm_bindgen(js_name = importSnapshot)]
            pub fn import_snapshot(
                &self,
                #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
            ) -> Result<(), JsValue> {
                let bytes = convert::bytes(F, &bytes, "bytes")?;
                self.with(|r| r.import_snapshot(&bytes)).map(drop)
            }

            /// Recomputes every index and count from the records and reports differences.
            #[wasm_bindgen(unchecked_return_type = "CheckReport")]
            pub fn check(&self) -> Result<JsValue, JsValue> {
                js(F, self.with(|r| r.check())?)
            }

            /// Deletes events up to and including `through`; returns how many were deleted.
            #[wasm_bindgen(js_name = trimEvents, unchecked_return_type = "bigint")]
            pub fn trim_events(
                &self,
                #[wasm_bindgen(unchecked_param_type = "bigint | number")] through: JsValue,
            ) -> Result<JsValue, JsValue> {
                let through = convert::u64_value(F, &through, "through")?;
                js(F, self.with(|r| r.trim_events(through))?)
            }
        }
    };
}
pub(crate) use shared_ops;

/// `setTime` and `advanceTime` of a store class (its `manual` field holds the manual clock).
macro_rules! clock_ops {
    ($t:ident) => {
        #[wasm_bindgen]
        impl $t {
            /// Sets a manual clock to `nanos` since the Unix epoch.
            #[wasm_bindgen(js_name = setTime)]
            pub fn set_time(
                &self,
                #[wasm_bindgen(unchecked_param_type = "bigint | number")] nanos: JsValue,
            ) -> Result<(), JsValue> {
                let clock = crate::manual(F, &self.manual)?;
                clock.set(convert::i64_value(F, &nanos, "nanos")?);
                Ok(())
            }

            /// Moves a manual clock forward by `nanos`.
            #[wasm_bindgen(js_name = advanceTime)]
            pub fn advance_time(
                &self,
                #[wasm_bindgen(unchecked_param_type = "bigint | number")] nanos: JsValue,
            ) -> Result<(), JsValue> {
                let clock = crate::manual(F, &self.manual)?;
                clock.advance(convert::i64_value(F, &nanos, "nanos")?);
                Ok(())
            }
        }
    };
}
pub(crate) use clock_ops;

/// `with` and `with_bytes` of a class whose `run` executes a boxed operation: `with` returns the
/// CBOR of the operation's result (built into a JS value by `convert::js` after the transaction),
/// `with_bytes` returns bytes the operation produced itself (snapshots).
macro_rules! with_op {
    ($t:ident, $tx:ident, $err:ident) => {
        impl $t {
            fn with<R: serde::Serialize>(
                &self,
                op: impl for<'a> FnOnce(&mut $tx<'a, MemoryWrite<'a>>) -> Result<R, $err>,
            ) -> Result<Vec<u8>, JsValue> {
                self.run(Box::new(|tx: &mut $tx<'_, MemoryWrite<'_>>| {
                    let out = op(tx)?;
                    Ok(bacalhau_state::snapshot::to_cbor(&out)?)
                }))
            }

            fn with_bytes(
                &self,
                op: impl for<'a> FnOnce(&mut $tx<'a, MemoryWrite<'a>>) -> Result<Vec<u8>, $err>,
            ) -> Result<Vec<u8>, JsValue> {
                self.run(Box::new(|tx: &mut $tx<'_, MemoryWrite<'_>>| op(tx)))
            }
        }
    };
}
pub(crate) use with_op;

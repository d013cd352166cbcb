//! `ComputeStore`: the compute node's `ExecutionStore`, and `ComputeTransaction`, the handle a
//! `transaction` callback receives. Both expose the same operations, generated once by
//! `compute_ops!` over a `with` accessor that hands the operation the store or the open
//! transaction.

use std::cell::Cell;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use bacalhau_state::clock::ManualClock;
use bacalhau_state::compute::ComputeTx;
use bacalhau_state::kv::memory::{MemoryBackend, MemoryWrite};
use bacalhau_state::{ComputeError, ExecutionStore};
use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::convert::{self, js};
use crate::error::{self, Family};

const F: Family = Family::Compute;

/// The open transaction, with its lifetimes erased so a JS-owned handle can point at it.
type Tx = ComputeTx<'static, MemoryWrite<'static>>;

/// A compute node's execution store (Bacalhau's `ExecutionStore`) held in memory.
#[wasm_bindgen]
pub struct ComputeStore {
    inner: ExecutionStore<MemoryBackend>,
    manual: Option<Arc<ManualClock>>,
}

/// The handle passed to a `ComputeStore.transaction` callback: the store's operations, applied
/// atomically when the callback returns. Unusable (code `Closed`) once the callback returned.
#[wasm_bindgen]
pub struct ComputeTransaction {
    slot: Rc<Cell<*mut Tx>>,
}

/// One operation on the open transaction, returning its result's CBOR. Boxed so that the store
/// and the transaction handle each run every operation through one compiled function: the
/// transaction machinery is not copied into each of the ~20 methods of each class.
type Op<'o> = Box<dyn for<'a> FnOnce(&mut ComputeTx<'a, MemoryWrite<'a>>) -> Result<Vec<u8>, ComputeError> + 'o>;

impl ComputeStore {
    /// Every operation, reads included, runs as a one-operation write transaction. Observably
    /// the same as the core's read path here (one thread, a read-only write transaction commits
    /// nothing), and it halves the code size: each operation is compiled once, for the write
    /// transaction that `transaction` callbacks need anyway, not again for the read one.
    fn run(&self, op: Op<'_>) -> Result<Vec<u8>, JsValue> {
        self.inner.transaction(|tx| op(tx)).map_err(error::compute)
    }
}

impl ComputeTransaction {
    /// Safety argument: `slot` is non-null only while `ComputeStore::transaction` is inside the
    /// JS callback, and during that call the core's `&mut ComputeTx` lives on that Rust stack
    /// frame and is not touched by it; the pointer is cleared before that frame uses or drops
    /// the transaction again. Taking the pointer out of the slot for the duration of `op` makes
    /// a nested use (e.g. a JS getter re-entering this handle) see null instead of creating a
    /// second `&mut`. Wasm is single-threaded and `Rc` keeps the handle on this thread.
    fn run(&self, op: Op<'_>) -> Result<Vec<u8>, JsValue> {
        let p = self.slot.replace(ptr::null_mut());
        if p.is_null() {
            return Err(error::tx_inactive(F));
        }
        // SAFETY: see above; `p` points at the live transaction and no other reference to it
        // is in use until `op` returns.
        let out = op(unsafe { &mut *p });
        self.slot.set(p);
        out.map_err(error::compute)
    }
}

crate::common::with_op!(ComputeStore, ComputeTx, ComputeError);
crate::common::with_op!(ComputeTransaction, ComputeTx, ComputeError);

/// Why a JS transaction did not commit.
enum TxFail {
    Store(ComputeError),
    Js(JsValue),
}

impl From<ComputeError> for TxFail {
    fn from(e: ComputeError) -> Self {
        TxFail::Store(e)
    }
}

macro_rules! compute_ops {
    ($ty:ident) => {
        #[wasm_bindgen]
        impl $ty {
            /// Stores a new execution record (state `Created` or `BidAccepted`, version 1) and
            /// returns it as stored.
            #[wasm_bindgen(js_name = createExecution, unchecked_return_type = "LocalExecutionState")]
            pub fn create_execution(
                &self,
                #[wasm_bindgen(unchecked_param_type = "LocalExecutionStateInput")] record: JsValue,
            ) -> Result<JsValue, JsValue> {
                let rec = convert::object(F, record, "record")?;
                js(F, self.with(|r| r.create_execution(rec))?)
            }

            /// The execution with this ID, or with this unique ID prefix.
            #[wasm_bindgen(js_name = getExecution, unchecked_return_type = "LocalExecutionState")]
            pub fn get_execution(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &id, "id")?;
                js(F, self.with(|r| r.get_execution(&id))?)
            }

            /// The job's executions on this node, oldest update first.
            #[wasm_bindgen(js_name = getExecutions, unchecked_return_type = "LocalExecutionState[]")]
            pub fn get_executions(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] job_id: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &job_id, "jobId")?;
                js(F, self.with(|r| r.get_executions(&id))?)
            }

            /// Every `Running` or `Publishing` execution (what a restart must resume).
            #[wasm_bindgen(js_name = getLiveExecutions, unchecked_return_type = "LocalExecutionState[]")]
            pub fn get_live_executions(&self) -> Result<JsValue, JsValue> {
                js(F, self.with(|r| r.get_live_executions())?)
            }

            /// The job's most recently updated active execution, or `null`.
            #[wasm_bindgen(js_name = getActiveExecution, unchecked_return_type = "LocalExecutionState | null")]
            pub fn get_active_execution(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] job_id: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &job_id, "jobId")?;
                js(F, self.with(|r| r.get_active_execution(&id))?)
            }

            /// The execution's state history, one page at a time.
            #[wasm_bindgen(js_name = getExecutionHistory, unchecked_return_type = "Page<LocalStateHistory>")]
            pub fn get_execution_history(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
                #[wasm_bindgen(unchecked_optional_param_type = "PageRequest | null")] page: JsValue,
            ) -> Result<JsValue, JsValue> {
                let id = convert::string(F, &id, "id")?;
                let page = convert::options(F, page, "page", &["limit"])?;
                js(F, self.with(|r| r.get_execution_history(&id, &page))?)
            }

            /// Every execution in ID order, one page at a time.
            #[wasm_bindgen(js_name = listExecutions, unchecked_return_type = "Page<LocalExecutionState>")]
            pub fn list_executions(
                &self,
                #[wasm_bindgen(unchecked_optional_param_type = "PageRequest | null")] page: JsValue,
            ) -> Result<JsValue, JsValue> {
                let page = convert::options(F, page, "page", &["limit"])?;
                js(F, self.with(|r| r.list_executions(&page))?)
            }

            /// Applies a conditional state change and returns the updated record.
            #[wasm_bindgen(js_name = updateExecutionState, unchecked_return_type = "LocalExecutionState")]
            pub fn update_execution_state(
                &self,
                #[wasm_bindgen(unchecked_param_type = "UpdateExecutionStateRequest")] request: JsValue,
            ) -> Result<JsValue, JsValue> {
                let req = convert::request(F, request, "request")?;
                js(F, self.with(|r| r.update_execution_state(req))?)
            }

            /// Deletes an execution with its history and index entries.
            #[wasm_bindgen(js_name = deleteExecution)]
            pub fn delete_execution(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
            ) -> Result<(), JsValue> {
                let id = convert::string(F, &id, "id")?;
                self.with(|r| r.delete_execution(&id)).map(drop)
            }

            /// Number of executions in `state` (exact).
            #[wasm_bindgen(js_name = getExecutionCount, unchecked_return_type = "bigint")]
            pub fn get_execution_count(
                &self,
                #[wasm_bindgen(unchecked_param_type = "LocalExecutionStateName | number")] state: JsValue,
            ) -> Result<JsValue, JsValue> {
                let state = convert::from_js(F, state, "state")?;
                js(F, self.with(|r| r.get_execution_count(state))?)
            }
        }
    };
}

compute_ops!(ComputeStore);
compute_ops!(ComputeTransaction);
crate::common::shared_ops!(ComputeStore, "ComputeStats");
crate::common::shared_ops!(ComputeTransaction, "ComputeStats");
crate::common::clock_ops!(ComputeStore);

#[wasm_bindgen]
impl ComputeStore {
    /// An empty in-memory store. `options.strict` (default `true`) selects the transition
    /// policy; `options.clock` is `"system"` (default, `Date.now()`) or a manual clock
    /// `{ start, step }` in nanoseconds, `step` being added after every reading.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "StoreOptions | null")] options: JsValue,
    ) -> Result<ComputeStore, JsValue> {
        let o = crate::open(F, &options)?;
        Ok(ComputeStore { inner: o.builder.in_memory_compute(), manual: o.manual })
    }

    /// A new store (with `options`) holding the contents of snapshot `bytes`. A truncated,
    /// altered or foreign snapshot throws a typed error and no store is made. (Static, so
    /// not named `importSnapshot`: wasm-bindgen exports a static and an instance method of the
    /// same name under one symbol, and the instance method keeps the core's name.)
    #[wasm_bindgen(js_name = fromSnapshot)]
    pub fn from_snapshot(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "StoreOptions | null")] options: JsValue,
    ) -> Result<ComputeStore, JsValue> {
        let store = ComputeStore::new(options)?;
        store.import_snapshot(bytes)?;
        Ok(store)
    }

    /// Runs `callback(tx)` in one transaction: everything it does through `tx` commits when it
    /// returns, and nothing does if it throws (the error is rethrown). Returns the callback's
    /// result. The callback must be synchronous; calling the store itself inside it throws
    /// `Reentrant`.
    #[wasm_bindgen(unchecked_return_type = "unknown")]
    pub fn transaction(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(tx: ComputeTransaction) => unknown")] callback: JsValue,
    ) -> Result<JsValue, JsValue> {
        let Some(callback) = callback.dyn_ref::<Function>() else {
            return Err(error::invalid(F, "callback", "expected a function"));
        };
        let slot: Rc<Cell<*mut Tx>> = Rc::new(Cell::new(ptr::null_mut()));
        let handle = JsValue::from(ComputeTransaction { slot: slot.clone() });
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
            TxFail::Store(e) => error::compute(e),
            TxFail::Js(v) => v,
        })
    }

    /// Closes the store; idempotent. Every later call throws `Closed`.
    pub fn close(&self) -> Result<(), JsValue> {
        self.inner.close().map_err(error::compute)
    }
}

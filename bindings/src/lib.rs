//! JavaScript bindings for bacalhau-state (placeholder: being written).

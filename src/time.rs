//! Timestamps (placeholder: being written).

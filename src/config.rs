//! Node store configuration (placeholder: being written).

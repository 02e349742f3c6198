//! The commands layer.

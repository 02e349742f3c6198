//! The linux layer.

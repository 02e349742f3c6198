//! The program layer.

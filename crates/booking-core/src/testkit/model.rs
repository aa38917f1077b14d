//! Placeholder: the reference-model test is being written.

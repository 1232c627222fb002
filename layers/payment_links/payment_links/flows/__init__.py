"""The product's use cases, one module each; handlers call these and nothing below them."""

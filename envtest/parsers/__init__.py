"""Pure parsers of outside formats: text in, a typed value (and its problems) out."""

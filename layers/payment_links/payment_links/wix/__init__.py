"""The Wix API as this product uses it: typed models, errors, auth, the HTTP client, webhook verification."""

"""The calendar providers behind one protocol: Google, Microsoft Graph and CalDAV adapters, their
sign-ins, and the keyring that keeps their tokens. The only package that imports HTTP clients."""

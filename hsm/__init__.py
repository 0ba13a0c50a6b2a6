"""The signer: keys in a PKCS#11 token, signatures over signer.sock for allowed callers."""

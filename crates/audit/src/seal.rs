//! The region's audit key: Ed25519 signs tree heads, and a MAC derived from the same secret
//! seals each record to its position, so a verifier holding the key names the exact record
//! that was changed, moved or slipped in, even when whoever changed it recomputed the
//! hashes. A regulator holding only the public key checks the tree heads.

use crate::merkle::Hash;
use crate::sth::{SignedTreeHead, TreeHead};
use ed25519_dalek::{SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The audit key.
#[derive(Clone)]
pub struct Sealer {
    signing: SigningKey,
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("public", &crate::hex(self.public().as_bytes()))
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// The key from its 32-byte secret (the configuration's `audit_key`).
    pub fn from_seed(seed: [u8; 32]) -> Sealer {
        let mac_key: Hash = Sha256::new()
            .chain_update(b"yilian audit record seal v1")
            .chain_update(seed)
            .finalize()
            .into();
        Sealer {
            signing: SigningKey::from_bytes(&seed),
            mac: Hmac::new_from_slice(&mac_key).expect("HMAC takes any key length"),
        }
    }

    pub fn public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// HMAC-SHA-256 over the record's position and leaf hash.
    pub fn seal(&self, position: u64, leaf: &Hash) -> Hash {
        let mut m = self.mac.clone();
        m.update(&position.to_be_bytes());
        m.update(leaf);
        m.finalize().into_bytes().into()
    }

    pub fn sign(&self, head: TreeHead) -> SignedTreeHead {
        head.sign(&self.signing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_binds_key_position_and_leaf() {
        let a = Sealer::from_seed([1; 32]);
        let b = Sealer::from_seed([2; 32]);
        let leaf = [9; 32];
        assert_eq!(a.seal(5, &leaf), a.seal(5, &leaf));
        assert_ne!(a.seal(5, &leaf), a.seal(6, &leaf));
        assert_ne!(a.seal(5, &leaf), a.seal(5, &[8; 32]));
        assert_ne!(a.seal(5, &leaf), b.seal(5, &leaf));
        let head = TreeHead {
            size: 1,
            root: leaf,
            timestamp: 0,
        };
        assert!(a.sign(head).verify(&a.public()));
        assert!(!a.sign(head).verify(&b.public()));
    }
}

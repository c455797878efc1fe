//! Signed tree heads: the log's size, root and time, signed with the region's Ed25519 key.
//! A regulator who keeps the heads it was given can later prove, with a consistency proof,
//! that the log it is shown grew from them and was never rewritten.

use crate::merkle::Hash;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// What is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
    /// Milliseconds since the epoch, when the head was made.
    pub timestamp: i64,
}

impl TreeHead {
    /// The signed bytes: a version byte, then size, timestamp (big-endian) and root, so a
    /// head cannot be read as anything else.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 8 + 8 + 32);
        out.push(1);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.root);
        out
    }

    pub fn sign(self, key: &SigningKey) -> SignedTreeHead {
        SignedTreeHead {
            head: self,
            signature: key.sign(&self.to_bytes()).to_bytes(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub head: TreeHead,
    pub signature: [u8; 64],
}

impl SignedTreeHead {
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        key.verify(
            &self.head.to_bytes(),
            &Signature::from_bytes(&self.signature),
        )
        .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_verifies_only_as_signed() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let head = TreeHead {
            size: 10,
            root: [3; 32],
            timestamp: 1_795_996_800_000,
        };
        let sth = head.sign(&key);
        assert!(sth.verify(&key.verifying_key()));
        assert!(!sth.verify(&other.verifying_key()));
        for changed in [
            TreeHead { size: 11, ..head },
            TreeHead {
                root: [4; 32],
                ..head
            },
            TreeHead {
                timestamp: head.timestamp + 1,
                ..head
            },
        ] {
            let forged = SignedTreeHead {
                head: changed,
                signature: sth.signature,
            };
            assert!(!forged.verify(&key.verifying_key()));
        }
    }
}

//! RFC 9162 §2.1 Merkle trees: the tree hash of `n` leaves, inclusion proofs (§2.1.3) and
//! consistency proofs (§2.1.4), each with the RFC's verification algorithm, plus a
//! [`Frontier`] that appends leaves and yields the root in O(log n) memory, as a log that
//! grows one record at a time needs.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// `SHA-256(0x00 || data)`: a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of the empty tree: `SHA-256()`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two smaller than `n` (`n > 1`): where RFC 9162 splits a tree.
fn split(n: usize) -> usize {
    debug_assert!(n > 1);
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH: the root over `leaves` (leaf hashes, in order).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]): the audit path of leaf `index` in the tree of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    fn path(m: usize, d: &[Hash], out: &mut Vec<Hash>) {
        if d.len() <= 1 {
            return;
        }
        let k = split(d.len());
        if m < k {
            path(m, &d[..k], out);
            out.push(root(&d[k..]));
        } else {
            path(m - k, &d[k..], out);
            out.push(root(&d[..k]));
        }
    }
    let mut out = Vec::new();
    path(index, leaves, &mut out);
    Some(out)
}

/// RFC 9162 §2.1.3.2: whether `proof` shows `leaf` at `index` in a tree of `size` with
/// `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// PROOF(m, D[n]): that the tree of the first `m` leaves is a prefix of the tree of all.
pub fn consistency_proof(leaves: &[Hash], m: usize) -> Option<Vec<Hash>> {
    let n = leaves.len();
    if m == 0 || m > n {
        return None;
    }
    fn subproof(m: usize, d: &[Hash], whole: bool, out: &mut Vec<Hash>) {
        let n = d.len();
        if m == n {
            if !whole {
                out.push(root(d));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            subproof(m, &d[..k], whole, out);
            out.push(root(&d[k..]));
        } else {
            subproof(m - k, &d[k..], false, out);
            out.push(root(&d[..k]));
        }
    }
    let mut out = Vec::new();
    subproof(m, leaves, true, &mut out);
    Some(out)
}

/// RFC 9162 §2.1.4.2: whether `proof` shows the tree of `size1` with `root1` is a prefix of
/// the tree of `size2` with `root2`.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> bool {
    if size1 > size2 || size1 == 0 {
        return false;
    }
    if size1 == size2 {
        return proof.is_empty() && root1 == root2;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    // A first tree that is a complete subtree is its own first node.
    if size1.is_power_of_two() {
        path.insert(0, *root1);
    }
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut f_n, mut s_n) = (size1 - 1, size2 - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    fr == *root1 && sr == *root2 && s_n == 0
}

/// The right edge of a growing tree: one perfect-subtree root per set bit of the size.
/// Appending is O(log n) amortized; the root is the RFC 9162 tree hash of every leaf so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Roots of the perfect subtrees, largest (leftmost) first.
    peaks: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// A frontier as stored: the size and its peaks (one per set bit of the size).
    pub fn from_parts(size: u64, peaks: Vec<Hash>) -> Option<Frontier> {
        (peaks.len() == size.count_ones() as usize).then_some(Frontier { size, peaks })
    }

    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    pub fn push(&mut self, leaf: Hash) {
        self.push_with(leaf, |_, _, _| {});
    }

    /// Appends `leaf`, telling `completed` each perfect subtree above the leaves it
    /// completes, as (level, index at that level, hash): what a log stores so that proofs
    /// need no leaf but the ones they name.
    pub fn push_with(&mut self, leaf: Hash, mut completed: impl FnMut(u8, u64, &Hash)) {
        let mut node = leaf;
        let mut size = self.size;
        let mut level = 0u8;
        // Each trailing one bit of the old size is a perfect subtree the new leaf completes.
        while size & 1 == 1 {
            let left = self.peaks.pop().expect("a set bit has its peak");
            node = node_hash(&left, &node);
            size >>= 1;
            level += 1;
            completed(level, self.size >> level, &node);
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The tree hash of every leaf pushed.
    pub fn root(&self) -> Hash {
        let mut it = self.peaks.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |acc, peak| node_hash(peak, &acc))
    }
}

/// A range of leaves `[start, end)`, as RFC 9162's proofs cut the tree.
pub type Span = (u64, u64);

/// The spans whose tree hashes make PATH(index, D[size]), in proof order.
pub fn inclusion_spans(index: u64, size: u64) -> Option<Vec<Span>> {
    fn path(m: u64, lo: u64, hi: u64, out: &mut Vec<Span>) {
        if hi - lo <= 1 {
            return;
        }
        let k = split_u64(hi - lo);
        if m < lo + k {
            path(m, lo, lo + k, out);
            out.push((lo + k, hi));
        } else {
            path(m, lo + k, hi, out);
            out.push((lo, lo + k));
        }
    }
    (index < size).then(|| {
        let mut out = Vec::new();
        path(index, 0, size, &mut out);
        out
    })
}

/// The spans whose tree hashes make PROOF(m, D[n]), in proof order.
pub fn consistency_spans(m: u64, n: u64) -> Option<Vec<Span>> {
    fn sub(m: u64, lo: u64, hi: u64, whole: bool, out: &mut Vec<Span>) {
        let n = hi - lo;
        if m == n {
            if !whole {
                out.push((lo, hi));
            }
            return;
        }
        let k = split_u64(n);
        if m <= k {
            sub(m, lo, lo + k, whole, out);
            out.push((lo + k, hi));
        } else {
            sub(m - k, lo + k, hi, false, out);
            out.push((lo, lo + k));
        }
    }
    (0 < m && m <= n).then(|| {
        let mut out = Vec::new();
        if m < n {
            sub(m, 0, n, true, &mut out);
        }
        out
    })
}

/// The perfect subtrees, as (level, index at that level), whose hashes make the tree hash
/// of `span`, left to right. Every span a proof cuts starts at a multiple of its largest
/// part, so each part is a stored node.
pub fn span_nodes((start, end): Span) -> Vec<(u8, u64)> {
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let width = 1u64 << (63 - (end - at).leading_zeros());
        debug_assert_eq!(at % width, 0, "a proof's span is aligned");
        out.push((width.trailing_zeros() as u8, at / width));
        at += width;
    }
    out
}

/// The tree hash of `span` from its stored nodes (`node(level, index)`); `None` when one
/// is missing.
pub fn span_hash(span: Span, node: impl Fn(u8, u64) -> Option<Hash>) -> Option<Hash> {
    let parts = span_nodes(span)
        .into_iter()
        .map(|(l, i)| node(l, i))
        .collect::<Option<Vec<Hash>>>()?;
    let mut it = parts.iter().rev();
    let last = *it.next()?;
    Some(it.fold(last, |acc, h| node_hash(h, &acc)))
}

fn split_u64(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u64).to_le_bytes()))
            .collect()
    }

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 6962's reference test vectors (certificate-transparency's merkle tree tests).
    #[test]
    fn known_roots() {
        let inputs: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let l: Vec<Hash> = inputs.iter().map(|d| leaf_hash(d)).collect();
        assert_eq!(
            hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&root(&l[..1])),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        assert_eq!(
            hex(&root(&l)),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
    }

    #[test]
    fn the_frontier_agrees_with_the_tree_hash() {
        let all = leaves(300);
        let mut f = Frontier::new();
        assert_eq!(f.root(), empty_root());
        for (n, leaf) in all.iter().enumerate() {
            f.push(*leaf);
            assert_eq!(f.root(), root(&all[..=n]), "size {}", n + 1);
        }
    }

    #[test]
    fn every_inclusion_and_consistency_proof_verifies_up_to_70_leaves() {
        let all = leaves(70);
        for n in 1..=all.len() {
            let tree = &all[..n];
            let r = root(tree);
            for i in 0..n {
                let p = inclusion_proof(tree, i).expect("in range");
                assert!(
                    verify_inclusion(i as u64, n as u64, &tree[i], &p, &r),
                    "{i} of {n}"
                );
                // Another leaf, position or size fails.
                let other = leaf_hash(b"forged");
                assert!(!verify_inclusion(i as u64, n as u64, &other, &p, &r));
                if n > 1 {
                    assert!(
                        !verify_inclusion(((i + 1) % n) as u64, n as u64, &tree[i], &p, &r)
                            || tree[i] == tree[(i + 1) % n]
                    );
                }
            }
            for m in 1..=n {
                let p = consistency_proof(tree, m).expect("in range");
                let r1 = root(&tree[..m]);
                assert!(
                    verify_consistency(m as u64, n as u64, &r1, &r, &p),
                    "{m} -> {n}"
                );
                if m < n {
                    let forged = root(
                        &leaves(m)
                            .iter()
                            .map(|_| leaf_hash(b"x"))
                            .collect::<Vec<_>>(),
                    );
                    assert!(!verify_consistency(m as u64, n as u64, &forged, &r, &p));
                }
            }
        }
    }

    #[test]
    fn proofs_from_stored_nodes_equal_proofs_from_leaves() {
        use std::collections::HashMap;
        let all = leaves(70);
        let mut nodes: HashMap<(u8, u64), Hash> = HashMap::new();
        let mut f = Frontier::new();
        for (i, leaf) in all.iter().enumerate() {
            nodes.insert((0, i as u64), *leaf);
            f.push_with(*leaf, |level, index, hash| {
                nodes.insert((level, index), *hash);
            });
            // A stored frontier comes back as it was.
            let again = Frontier::from_parts(f.size(), f.peaks().to_vec()).expect("valid");
            assert_eq!(again, f);
        }
        let get = |l: u8, i: u64| nodes.get(&(l, i)).copied();
        for n in 1..=all.len() {
            let tree = &all[..n];
            for i in 0..n {
                let from_nodes: Vec<Hash> = inclusion_spans(i as u64, n as u64)
                    .expect("in range")
                    .into_iter()
                    .map(|s| span_hash(s, get).expect("stored"))
                    .collect();
                assert_eq!(Some(from_nodes), inclusion_proof(tree, i), "{i} of {n}");
            }
            for m in 1..=n {
                let from_nodes: Vec<Hash> = consistency_spans(m as u64, n as u64)
                    .expect("in range")
                    .into_iter()
                    .map(|s| span_hash(s, get).expect("stored"))
                    .collect();
                assert_eq!(Some(from_nodes), consistency_proof(tree, m), "{m} -> {n}");
            }
        }
        assert_eq!(inclusion_spans(5, 5), None);
        assert_eq!(consistency_spans(0, 5), None);
        assert_eq!(Frontier::from_parts(3, vec![[0; 32]]), None);
    }

    proptest! {
        /// Changing any one leaf changes the root, and the old proofs no longer verify.
        #[test]
        fn any_change_shows(n in 1usize..200, at in 0usize..200, byte in any::<u8>()) {
            let mut all = leaves(n);
            let at = at % n;
            let r = root(&all);
            let p = inclusion_proof(&all, at).expect("in range");
            all[at] = leaf_hash(&[byte, 0xff, 0xee]);
            prop_assert_ne!(root(&all), r);
            prop_assert!(!verify_inclusion(at as u64, n as u64, &all[at], &p, &r));
        }
    }
}

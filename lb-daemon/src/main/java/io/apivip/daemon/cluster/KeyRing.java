package io.apivip.daemon.cluster;

import io.apivip.daemon.config.KeyFile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The keys of one node: the one it signs its heartbeats with ({@code cluster.key-file}) and the
 * others it accepts ({@code cluster.accept-key-files}), each named by its id ({@link KeyFile#id}).
 * A heartbeat says which key signed it, so a receiver verifies it with that key alone, and a
 * cluster can change its key node by node without a node's heartbeats being dropped: every node
 * first accepts the new key, then signs with it, then drops the old one (docs/microk8s.md).
 *
 * <p>Immutable. A key listed twice is kept once; two different keys with the same id (a 1 in 2^64
 * chance) are refused, since a receiver could not tell which one to verify with.
 */
public final class KeyRing {

  /** One key and its id. */
  public static final class Key {
    private final long id;
    private final byte[] material;

    private Key(byte[] material) {
      this.material = material.clone();
      this.id = KeyFile.id(material);
    }

    public long id() {
      return id;
    }

    /** The id in hex, as status and logs show it. */
    public String fingerprint() {
      return KeyFile.fingerprint(id);
    }

    byte[] material() {
      return material.clone();
    }
  }

  private final Key signing;
  private final Map<Long, Key> byId;

  private KeyRing(Key signing, Map<Long, Key> byId) {
    this.signing = signing;
    this.byId = byId;
  }

  /**
   * The ring that signs with {@code signing} and accepts it and {@code accepted}; throws
   * IllegalArgumentException when two different keys share an id.
   */
  public static KeyRing of(byte[] signing, List<byte[]> accepted) {
    Key signer = new Key(signing);
    Map<Long, Key> byId = new LinkedHashMap<>();
    byId.put(signer.id(), signer);
    for (byte[] material : accepted) {
      Key key = new Key(material);
      Key known = byId.putIfAbsent(key.id(), key);
      if (known != null && !Arrays.equals(known.material, key.material)) {
        throw new IllegalArgumentException(
            "two different keys have the same id " + key.fingerprint() + "; make a new key");
      }
    }
    return new KeyRing(signer, byId);
  }

  /** The ring of one key, which it signs with and alone accepts. */
  public static KeyRing of(byte[] signing) {
    return of(signing, List.of());
  }

  /** The key this node signs with. */
  public Key signing() {
    return signing;
  }

  /** The key with this id, if this node accepts it. */
  public Optional<Key> find(long id) {
    return Optional.ofNullable(byId.get(id));
  }

  /** Every key this node accepts, the signing key first. */
  public List<Key> keys() {
    return List.copyOf(byId.values());
  }

  /** The ids of the keys accepted besides the signing key, in hex. */
  public List<String> otherFingerprints() {
    List<String> ids = new ArrayList<>();
    for (Key key : byId.values()) {
      if (key != signing) {
        ids.add(key.fingerprint());
      }
    }
    return ids;
  }

  /** Whether both rings sign with the same key and accept the same keys. */
  public boolean sameKeys(KeyRing other) {
    return signing.id() == other.signing.id() && byId.keySet().equals(other.byId.keySet());
  }

  @Override
  public String toString() {
    return "signs with "
        + signing.fingerprint()
        + (byId.size() > 1 ? ", also accepts " + String.join(", ", otherFingerprints()) : "");
  }
}

package io.apivip.lab;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throwaway certificate authority for the lab and tests: issues server certificates with chosen
 * subject alternative names and validity, and client certificates, written as PEM like MicroK8s's.
 */
public final class Pki {

  /** A certificate and its private key. */
  public record Issued(X509Certificate certificate, PrivateKey key) {

    /** Writes the certificate and the key (PKCS#8) as PEM files. */
    public void write(Path certificateFile, Path keyFile) throws IOException {
      Files.writeString(certificateFile, pem(certificate), StandardCharsets.US_ASCII);
      Files.writeString(keyFile, pem(key), StandardCharsets.US_ASCII);
    }
  }

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Duration DEFAULT_VALIDITY = Duration.ofDays(365);

  private final Issued ca;

  private Pki(Issued ca) {
    this.ca = ca;
  }

  /** A new self-signed CA. */
  public static Pki newCa(String commonName) {
    KeyPair keys = newKeyPair();
    X500Name name = new X500Name("CN=" + commonName);
    Instant now = Instant.now();
    X509v3CertificateBuilder builder =
        new JcaX509v3CertificateBuilder(
            name,
            serial(),
            Date.from(now.minus(Duration.ofHours(1))),
            Date.from(now.plus(DEFAULT_VALIDITY)),
            name,
            keys.getPublic());
    try {
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return new Pki(new Issued(sign(builder, keys.getPrivate()), keys.getPrivate()));
  }

  public X509Certificate caCertificate() {
    return ca.certificate();
  }

  public void writeCa(Path file) throws IOException {
    Files.writeString(file, pem(ca.certificate()), StandardCharsets.US_ASCII);
  }

  /**
   * A server certificate for the given names: IP literals become IP SANs, anything else DNS SANs.
   * Validity runs from {@code notBefore} to {@code notAfter}, so tests can make expired ones.
   */
  public Issued issueServer(List<String> names, Instant notBefore, Instant notAfter) {
    List<GeneralName> sans = new ArrayList<>();
    for (String name : names) {
      sans.add(
          new GeneralName(isIpLiteral(name) ? GeneralName.iPAddress : GeneralName.dNSName, name));
    }
    String commonName = names.isEmpty() ? "kube-apiserver" : names.get(0);
    return issue(commonName, KeyPurposeId.id_kp_serverAuth, sans, notBefore, notAfter);
  }

  public Issued issueServer(List<String> names) {
    Instant now = Instant.now();
    return issueServer(names, now.minus(Duration.ofHours(1)), now.plus(DEFAULT_VALIDITY));
  }

  /** A client certificate, as kube-apiserver accepts for x509 authentication. */
  public Issued issueClient(String commonName) {
    Instant now = Instant.now();
    return issue(
        commonName,
        KeyPurposeId.id_kp_clientAuth,
        List.of(),
        now.minus(Duration.ofHours(1)),
        now.plus(DEFAULT_VALIDITY));
  }

  private Issued issue(
      String commonName,
      KeyPurposeId purpose,
      List<GeneralName> sans,
      Instant notBefore,
      Instant notAfter) {
    KeyPair keys = newKeyPair();
    X509v3CertificateBuilder builder =
        new JcaX509v3CertificateBuilder(
            ca.certificate(),
            serial(),
            Date.from(notBefore),
            Date.from(notAfter),
            new X500Name("CN=" + commonName),
            keys.getPublic());
    try {
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
      if (!sans.isEmpty()) {
        builder.addExtension(
            Extension.subjectAlternativeName,
            false,
            new GeneralNames(sans.toArray(GeneralName[]::new)));
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return new Issued(sign(builder, ca.key()), keys.getPrivate());
  }

  public static String pem(Object certificateOrKey) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(
          certificateOrKey instanceof PrivateKey key
              ? new JcaPKCS8Generator(key, null)
              : certificateOrKey);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toString();
  }

  private static boolean isIpLiteral(String name) {
    return name.contains(":") || name.matches("\\d{1,3}(\\.\\d{1,3}){3}");
  }

  private static KeyPair newKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(64, RANDOM);
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer) {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(
              builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
    } catch (OperatorCreationException | GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}

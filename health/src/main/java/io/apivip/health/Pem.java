package io.apivip.health;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * Reads PEM certificates and unencrypted private keys in every form openssl writes them. The one
 * reader of apivip's TLS files: the checks read with it, and configuration validation too, so
 * {@code apivip check-config} accepts exactly the files the running daemon can use.
 */
public final class Pem {

  private Pem() {}

  public static X509Certificate[] certificates(Path file)
      throws IOException, GeneralSecurityException {
    try (InputStream in = Files.newInputStream(file)) {
      X509Certificate[] certificates =
          CertificateFactory.getInstance("X.509").generateCertificates(in).stream()
              .map(X509Certificate.class::cast)
              .toArray(X509Certificate[]::new);
      if (certificates.length == 0) {
        throw new GeneralSecurityException(file + " holds no certificate");
      }
      return certificates;
    }
  }

  /**
   * PKCS#8 ({@code BEGIN PRIVATE KEY}) or traditional ({@code BEGIN RSA PRIVATE KEY}, {@code BEGIN
   * EC PRIVATE KEY}).
   */
  public static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
        PEMParser parser = new PEMParser(in)) {
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      for (Object object = parser.readObject(); object != null; object = parser.readObject()) {
        if (object instanceof PrivateKeyInfo info) {
          return converter.getPrivateKey(info);
        }
        if (object instanceof PEMKeyPair pair) {
          return converter.getPrivateKey(pair.getPrivateKeyInfo());
        }
      }
      throw new GeneralSecurityException(file + " holds no unencrypted private key");
    }
  }
}

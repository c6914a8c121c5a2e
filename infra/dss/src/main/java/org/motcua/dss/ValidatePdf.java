package org.motcua.dss;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import eu.europa.esig.dss.diagnostic.DiagnosticData;
import eu.europa.esig.dss.diagnostic.TimestampWrapper;
import eu.europa.esig.dss.jaxb.object.Message;
import eu.europa.esig.dss.model.DSSDocument;
import eu.europa.esig.dss.model.FileDocument;
import eu.europa.esig.dss.model.x509.CertificateToken;
import eu.europa.esig.dss.service.crl.OnlineCRLSource;
import eu.europa.esig.dss.service.http.commons.CommonsDataLoader;
import eu.europa.esig.dss.service.http.commons.OCSPDataLoader;
import eu.europa.esig.dss.service.ocsp.OnlineOCSPSource;
import eu.europa.esig.dss.simplereport.SimpleReport;
import eu.europa.esig.dss.simplereport.jaxb.XmlCertificate;
import eu.europa.esig.dss.simplereport.jaxb.XmlCertificateChain;
import eu.europa.esig.dss.simplereport.jaxb.XmlTimestamp;
import eu.europa.esig.dss.spi.DSSUtils;
import eu.europa.esig.dss.spi.validation.CommonCertificateVerifier;
import eu.europa.esig.dss.spi.x509.CommonTrustedCertificateSource;
import eu.europa.esig.dss.spi.x509.aia.DefaultAIASource;
import eu.europa.esig.dss.spi.x509.revocation.crl.ExternalResourcesCRLSource;
import eu.europa.esig.dss.validation.SignedDocumentValidator;
import eu.europa.esig.dss.validation.reports.Reports;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * validate-pdf FILE.pdf --trust CA.pem [--trust CA.pem ...] [--crl CRL.der ...] [--online|--offline]
 *              [--policy POLICY.xml] [--reports DIR]
 *
 * <p>Validates every signature of a PDF with DSS under its default validation policy (ETSI EN 319
 * 102-1) and prints one JSON object: per signature the indication, sub-indication, the PAdES level
 * DSS recognised, the signing time, the timestamps with their own indications, and the messages
 * that explain a failure. The trust anchors are the given certificates only (no trusted lists).
 * Offline (the default) no OCSP, CRL or AIA request leaves the process: what is judged is what the
 * document carries, and the CRLs given with --crl. With --reports, DSS's own XML reports (simple,
 * detailed, diagnostic data, ETSI TS 119 102-2) are written to DIR: where to look when a verdict
 * needs explaining. Exit status 0 when a report was printed, whatever it says; 2 for bad usage or
 * an unreadable input.
 */
public final class ValidatePdf {

    private static final Pattern PEM_CERTIFICATE =
            Pattern.compile("-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", Pattern.DOTALL);

    private ValidatePdf() {
    }

    public static void main(String[] args) {
        // DSS logs its reasoning at INFO; the report is the output, so only warnings go to stderr.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try {
            Arguments arguments = Arguments.parse(args);
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(validate(arguments)));
            System.exit(0);
        } catch (UsageException e) {
            System.err.println("validate-pdf: " + e.getMessage());
            System.err.println(
                    "usage: validate-pdf FILE.pdf --trust CA.pem [--trust CA.pem ...] [--crl CRL.der ...]"
                    + " [--online|--offline] [--policy POLICY.xml] [--reports DIR]");
            System.exit(2);
        } catch (IOException e) {
            System.err.println("validate-pdf: " + e.getMessage());
            System.exit(2);
        } catch (RuntimeException e) {
            // DSS's word on an input it cannot read (not a PDF, a broken CRL...): said, not a trace.
            System.err.println("validate-pdf: cannot validate: " + e);
            System.exit(2);
        }
    }

    static ObjectNode validate(Arguments arguments) throws IOException {
        CommonTrustedCertificateSource anchors = new CommonTrustedCertificateSource();
        for (File pem : arguments.trust) {
            for (CertificateToken certificate : readCertificates(pem)) {
                anchors.addCertificate(certificate);
            }
        }
        CommonCertificateVerifier verifier = new CommonCertificateVerifier();
        verifier.setTrustedCertSources(anchors);
        if (arguments.online) {
            verifier.setAIASource(new DefaultAIASource(new CommonsDataLoader()));
            verifier.setOcspSource(new OnlineOCSPSource(new OCSPDataLoader()));
            verifier.setCrlSource(new OnlineCRLSource(new CommonsDataLoader()));
        } else {
            verifier.setAIASource(null);
            verifier.setOcspSource(null);
            verifier.setCrlSource(null);
        }
        if (!arguments.crls.isEmpty()) {
            // CRLs handed over with the document (as a validator that fetched them earlier would):
            // they stand in for the online sources, which they replace.
            verifier.setCrlSource(new ExternalResourcesCRLSource(
                    arguments.crls.stream().map(FileDocument::new).toArray(DSSDocument[]::new)));
        }

        SignedDocumentValidator validator = SignedDocumentValidator.fromDocument(new FileDocument(arguments.pdf));
        validator.setCertificateVerifier(verifier);
        Reports reports = arguments.policy == null
                ? validator.validateDocument()
                : validator.validateDocument(arguments.policy);
        if (arguments.reports != null) {
            writeReports(reports, arguments.reports);
        }
        SimpleReport simple = reports.getSimpleReport();
        DiagnosticData diagnostic = reports.getDiagnosticData();

        ObjectMapper json = new ObjectMapper();
        ObjectNode report = json.createObjectNode();
        report.put("document", arguments.pdf.getName());
        report.put("validation_time", time(simple.getValidationTime()));
        report.put("policy", arguments.policy == null ? "DSS default (constraint.xml)" : arguments.policy.getName());
        report.put("online", arguments.online);
        report.put("signatures_count", simple.getSignaturesCount());
        report.put("valid_signatures_count", simple.getValidSignaturesCount());
        ArrayNode signatures = report.putArray("signatures");
        for (String id : simple.getSignatureIdList()) {
            ObjectNode signature = signatures.addObject();
            signature.put("id", id);
            signature.put("indication", name(simple.getIndication(id)));
            signature.put("sub_indication", name(simple.getSubIndication(id)));
            signature.put("signature_format", simple.getSignatureFormat(id) == null
                    ? null : simple.getSignatureFormat(id).toString());
            signature.put("signed_by", simple.getSignedBy(id));
            signature.put("signing_time", time(simple.getSigningTime(id)));
            signature.put("best_signature_time", time(simple.getBestSignatureTime(id)));
            putChain(signature, simple.getCertificateChain(id));
            ArrayNode timestamps = signature.putArray("timestamps");
            for (XmlTimestamp timestamp : simple.getSignatureTimestamps(id)) {
                putTimestamp(timestamps.addObject(), timestamp, diagnostic);
            }
            putMessages(signature, "errors", simple.getAdESValidationErrors(id));
            putMessages(signature, "warnings", simple.getAdESValidationWarnings(id));
            putMessages(signature, "info", simple.getAdESValidationInfo(id));
        }
        // Document timestamps (PAdES B-LTA) and any timestamp not attached to a signature.
        ArrayNode timestamps = report.putArray("timestamps");
        for (String id : simple.getTimestampIdList()) {
            ObjectNode timestamp = timestamps.addObject();
            timestamp.put("id", id);
            TimestampWrapper wrapper = diagnostic.getTimestampById(id);
            timestamp.put("type", wrapper == null ? null : name(wrapper.getType()));
            timestamp.put("indication", name(simple.getIndication(id)));
            timestamp.put("sub_indication", name(simple.getSubIndication(id)));
            timestamp.put("production_time", time(simple.getProductionTime(id)));
            timestamp.put("produced_by", simple.getProducedBy(id));
            putMessages(timestamp, "errors", simple.getAdESValidationErrors(id));
        }
        return report;
    }

    private static void writeReports(Reports reports, File directory) throws IOException {
        Files.createDirectories(directory.toPath());
        Files.writeString(directory.toPath().resolve("simple-report.xml"), reports.getXmlSimpleReport());
        Files.writeString(directory.toPath().resolve("detailed-report.xml"), reports.getXmlDetailedReport());
        Files.writeString(directory.toPath().resolve("diagnostic-data.xml"), reports.getXmlDiagnosticData());
        Files.writeString(directory.toPath().resolve("etsi-validation-report.xml"), reports.getXmlValidationReport());
    }

    private static void putTimestamp(ObjectNode node, XmlTimestamp timestamp, DiagnosticData diagnostic) {
        node.put("id", timestamp.getId());
        TimestampWrapper wrapper = diagnostic.getTimestampById(timestamp.getId());
        node.put("type", wrapper == null ? null : name(wrapper.getType()));
        node.put("indication", name(timestamp.getIndication()));
        node.put("sub_indication", name(timestamp.getSubIndication()));
        node.put("production_time", time(timestamp.getProductionTime()));
        node.put("produced_by", timestamp.getProducedBy());
    }

    private static void putChain(ObjectNode node, XmlCertificateChain chain) {
        ArrayNode names = node.putArray("certificate_chain");
        if (chain == null) {
            return;
        }
        for (XmlCertificate certificate : chain.getCertificate()) {
            names.add(certificate.getQualifiedName());
        }
    }

    private static void putMessages(ObjectNode node, String field, List<Message> messages) {
        ArrayNode array = node.putArray(field);
        for (Message message : messages) {
            array.addObject().put("key", message.getKey()).put("value", message.getValue());
        }
    }

    private static String name(Enum<?> value) {
        return value == null ? null : value.name();
    }

    private static String time(Date date) {
        return date == null ? null : DateTimeFormatter.ISO_INSTANT.format(date.toInstant());
    }

    /** Every certificate of a PEM file (a bundle may hold several), or the one of a DER file. */
    static List<CertificateToken> readCertificates(File file) throws IOException {
        byte[] content = Files.readAllBytes(file.toPath());
        String text = new String(content, StandardCharsets.US_ASCII);
        List<CertificateToken> certificates = new ArrayList<>();
        Matcher pem = PEM_CERTIFICATE.matcher(text);
        while (pem.find()) {
            certificates.add(DSSUtils.loadCertificate(Base64.getMimeDecoder().decode(pem.group(1).trim())));
        }
        if (certificates.isEmpty()) {
            try {
                certificates.add(DSSUtils.loadCertificate(content));
            } catch (RuntimeException e) {
                throw new IOException("no certificate in " + file + ": " + e.getMessage(), e);
            }
        }
        return certificates;
    }

    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    static final class Arguments {
        File pdf;
        final List<File> trust = new ArrayList<>();
        final List<File> crls = new ArrayList<>();
        boolean online;
        File policy;
        File reports;

        static Arguments parse(String[] args) throws UsageException {
            Arguments parsed = new Arguments();
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--trust" -> parsed.trust.add(existing(value(args, ++i, "--trust")));
                    case "--crl" -> parsed.crls.add(existing(value(args, ++i, "--crl")));
                    case "--policy" -> parsed.policy = existing(value(args, ++i, "--policy"));
                    case "--reports" -> parsed.reports = new File(value(args, ++i, "--reports"));
                    case "--online" -> parsed.online = true;
                    case "--offline" -> parsed.online = false;
                    default -> {
                        if (args[i].startsWith("--") || parsed.pdf != null) {
                            throw new UsageException("unexpected argument " + args[i]);
                        }
                        parsed.pdf = existing(args[i]);
                    }
                }
            }
            if (parsed.pdf == null) {
                throw new UsageException("no PDF given");
            }
            if (parsed.trust.isEmpty()) {
                throw new UsageException("no trust anchor given (--trust CA.pem)");
            }
            return parsed;
        }

        private static String value(String[] args, int i, String option) throws UsageException {
            if (i >= args.length) {
                throw new UsageException(option + " needs a file");
            }
            return args[i];
        }

        private static File existing(String path) throws UsageException {
            File file = new File(path);
            if (!file.isFile()) {
                throw new UsageException("no such file: " + path);
            }
            return file;
        }
    }
}

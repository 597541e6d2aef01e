package io.agentd.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.CBORGenerator;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;

/**
 * Writes a fixture's frame from its JSON fields with Jackson's CBOR generator, which shares
 * nothing with the codec's encoder: the second opinion on what a golden frame's bytes must be.
 * Keys go out in the fixture's order (PROTOCOL.md's key order), lengths definite, integers in their
 * shortest form; {"$bytes": base64} becomes a byte string.
 */
final class IndependentFrameWriter {
    /** A mapper behind the factory, so scalar leaves can be written with writeTree. */
    private static final CBORFactory FACTORY = new CBORMapper().getFactory();

    private IndependentFrameWriter() {}

    static byte[] frame(JsonNode fixture) {
        ObjectNode envelope = JsonNodeFactory.instance.objectNode();
        envelope.put("v", fixture.get("version").asLong());
        envelope.put("t", fixture.get("type").asText());
        envelope.put("p", cbor(fixture.get("payload")));
        byte[] body = cbor(envelope);
        return ByteBuffer.allocate(Protocol.LENGTH_BYTES + 5 + body.length)
                .putInt(5 + body.length)
                .putInt((int) fixture.get("id").asLong())
                .put((byte) fixture.get("flags").asInt())
                .put(body)
                .array();
    }

    private static byte[] cbor(JsonNode node) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (CBORGenerator g = FACTORY.createGenerator(out)) {
            write(node, g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * Jackson's tree serializer writes maps with indefinite length; PROTOCOL.md wants definite ones,
     * so the tree is walked here and every container opened with its size.
     */
    private static void write(JsonNode node, CBORGenerator g) throws IOException {
        if (node.isObject() && node.size() == 1 && node.has("$bytes")) {
            g.writeBinary(Base64.getDecoder().decode(node.get("$bytes").asText()));
        } else if (node.isObject()) {
            g.writeStartObject(null, node.size());
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                g.writeFieldName(field.getKey());
                write(field.getValue(), g);
            }
            g.writeEndObject();
        } else if (node.isArray()) {
            g.writeStartArray(null, node.size());
            for (JsonNode item : node) {
                write(item, g);
            }
            g.writeEndArray();
        } else if (node.isBinary()) {
            g.writeBinary(node.binaryValue());
        } else {
            g.writeTree(node);
        }
    }
}

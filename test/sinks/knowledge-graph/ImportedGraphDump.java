/*
 * Opens a database that `neo4j-admin database import full` wrote (embedded, no server), runs
 * the given schema statements on it, and prints the whole graph as JSON lines for
 * knowledge-graph-import.int.test.ts. Run with Java's single-file source launcher:
 *
 *   java -cp '<cache>/services/neo4j/lib/*' ImportedGraphDump.java <neo4jHome> [statement ...]
 */
import java.lang.reflect.Array;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.Result;
import org.neo4j.graphdb.Transaction;

public final class ImportedGraphDump {
  private ImportedGraphDump() {}

  private static final String[] QUERIES = {
    "MATCH (n) RETURN 'node' AS kind, labels(n) AS labels, properties(n) AS properties",
    "MATCH (s)-[r]->(e) RETURN 'relationship' AS kind, type(r) AS type, labels(s) AS startLabels,"
        + " coalesce(s.pmid, s.id) AS start, labels(e) AS endLabels, e.id AS end,"
        + " properties(r) AS properties",
    "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties"
        + " RETURN 'constraint' AS kind, type, labelsOrTypes, properties",
  };

  public static void main(final String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: ImportedGraphDump <neo4jHome> [schema statement ...]");
      System.exit(2);
    }
    final DatabaseManagementService service =
        new DatabaseManagementServiceBuilder(Path.of(args[0]).toAbsolutePath())
            .setConfig(GraphDatabaseSettings.pagecache_memory, 32L * 1024 * 1024)
            .build();
    try {
      final GraphDatabaseService db = service.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
      for (int i = 1; i < args.length; i++) {
        db.executeTransactionally(args[i]);
      }
      db.executeTransactionally("CALL db.awaitIndexes(300)");
      final StringBuilder out = new StringBuilder();
      for (final String query : QUERIES) {
        try (Transaction tx = db.beginTx();
            Result result = tx.execute(query)) {
          while (result.hasNext()) {
            out.setLength(0);
            json(new TreeMap<>(result.next()), out);
            System.out.println(out);
          }
        }
      }
    } finally {
      service.shutdown();
    }
  }

  private static void json(final Object value, final StringBuilder out) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof String s) {
      out.append('"');
      for (final char c : s.toCharArray()) {
        switch (c) {
          case '"' -> out.append("\\\"");
          case '\\' -> out.append("\\\\");
          case '\n' -> out.append("\\n");
          case '\r' -> out.append("\\r");
          case '\t' -> out.append("\\t");
          default -> {
            if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
          }
        }
      }
      out.append('"');
    } else if (value instanceof Number || value instanceof Boolean) {
      out.append(value);
    } else if (value instanceof Map<?, ?> map) {
      out.append('{');
      boolean first = true;
      for (final Map.Entry<?, ?> entry : new TreeMap<>(map).entrySet()) {
        if (!first) out.append(',');
        first = false;
        json(String.valueOf(entry.getKey()), out);
        out.append(':');
        json(entry.getValue(), out);
      }
      out.append('}');
    } else if (value instanceof List<?> list) {
      out.append('[');
      for (int i = 0; i < list.size(); i++) {
        if (i > 0) out.append(',');
        json(list.get(i), out);
      }
      out.append(']');
    } else if (value.getClass().isArray()) {
      out.append('[');
      for (int i = 0; i < Array.getLength(value); i++) {
        if (i > 0) out.append(',');
        json(Array.get(value, i), out);
      }
      out.append(']');
    } else {
      json(value.toString(), out);
    }
  }
}

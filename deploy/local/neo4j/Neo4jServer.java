/*
 * Neo4j 5.26 LTS Community server for local runs and integration tests, started by
 * scripts/services.ts with Java's single-file source launcher:
 *
 *   java -Xms256m -Xmx512m -cp '<cache>/services/neo4j/lib/*' Neo4jServer.java \
 *       <homeDir> <boltPort> <httpPort>
 *
 * It runs the same bootstrapper as `neo4j console` (jars from neo4j-harness's dependency
 * tree), so the store lives in <homeDir>/data and survives a restart: the services script
 * wipes homeDir for a fresh start and keeps it for `up --keep-data` (outage tests).
 * Bolt and HTTP bind to 127.0.0.1 only; authentication is disabled (clients may send no auth
 * or any credentials).
 */
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.server.CommunityBootstrapper;

public final class Neo4jServer {
  private Neo4jServer() {}

  public static void main(final String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: Neo4jServer <homeDir> <boltPort> <httpPort>");
      System.exit(2);
    }
    final Path home = Path.of(args[0]).toAbsolutePath();
    final String bolt = "127.0.0.1:" + Integer.parseInt(args[1]);
    final String http = "127.0.0.1:" + Integer.parseInt(args[2]);
    Files.createDirectories(home);

    final Map<String, String> config = new HashMap<>();
    config.put(GraphDatabaseSettings.auth_enabled.name(), "false");
    config.put(GraphDatabaseSettings.pagecache_memory.name(), "64m");
    config.put(BoltConnector.enabled.name(), "true");
    config.put(BoltConnector.listen_address.name(), bolt);
    config.put(BoltConnector.advertised_address.name(), bolt);
    config.put(BoltConnector.encryption_level.name(), "DISABLED");
    config.put(HttpConnector.enabled.name(), "true");
    config.put(HttpConnector.listen_address.name(), http);
    config.put(HttpConnector.advertised_address.name(), http);
    config.put(HttpsConnector.enabled.name(), "false");
    // Netty's default quiet period makes every stop take ~10 s; a test server has nothing to
    // drain.
    config.put(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period.name(), "0");
    config.put(GraphDatabaseInternalSettings.netty_server_shutdown_timeout.name(), "3s");

    final CommunityBootstrapper server = new CommunityBootstrapper();
    final int status = server.start(home, config);
    if (status != 0) {
      System.err.println("medstream: neo4j failed to start (status " + status + ")");
      System.exit(1);
      return;
    }

    System.out.println("medstream: neo4j ready on bolt://" + bolt + " (store " + home + ")");
    // The bootstrapper installed its own shutdown hook: SIGTERM stops the database cleanly and
    // the JVM exits; until then this thread only keeps the process alive.
    new CountDownLatch(1).await();
  }
}

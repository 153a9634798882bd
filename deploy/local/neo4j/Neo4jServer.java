/*
 * Neo4j 5.26 LTS (embedded via the test harness) for local runs and integration tests, started
 * by scripts/services.ts with Java's single-file source launcher:
 *
 *   java -Xms256m -Xmx512m -cp '<cache>/services/neo4j/lib/*' Neo4jServer.java \
 *       <workDir> <boltPort> <httpPort>
 *
 * Bolt and HTTP bind to 127.0.0.1 only. Authentication is disabled (clients may send no auth
 * or any credentials). The harness keeps its store under workDir, which the script wipes before
 * each fresh start.
 */
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;

public final class Neo4jServer {
  private Neo4jServer() {}

  public static void main(final String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: Neo4jServer <workDir> <boltPort> <httpPort>");
      System.exit(2);
    }
    final Path workDir = Path.of(args[0]).toAbsolutePath();
    final int boltPort = Integer.parseInt(args[1]);
    final int httpPort = Integer.parseInt(args[2]);

    final Neo4j neo4j;
    try {
      neo4j =
          Neo4jBuilders.newInProcessBuilder(workDir)
              .withConfig(GraphDatabaseSettings.auth_enabled, false)
              .withConfig(GraphDatabaseSettings.pagecache_memory, 64L * 1024 * 1024)
              .withConfig(BoltConnector.enabled, true)
              .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", boltPort))
              .withConfig(
                  BoltConnector.advertised_address, new SocketAddress("127.0.0.1", boltPort))
              .withConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
              .withConfig(HttpConnector.enabled, true)
              .withConfig(HttpConnector.listen_address, new SocketAddress("127.0.0.1", httpPort))
              .withConfig(
                  HttpConnector.advertised_address, new SocketAddress("127.0.0.1", httpPort))
              .withConfig(HttpsConnector.enabled, false)
              // Netty's default quiet period makes every stop take ~10 s; a test server has
              // nothing to drain.
              .withConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
              .withConfig(
                  GraphDatabaseInternalSettings.netty_server_shutdown_timeout,
                  Duration.ofSeconds(3))
              .build();
    } catch (final Throwable e) {
      e.printStackTrace();
      System.exit(1);
      return;
    }

    final CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    neo4j.close();
                  } catch (final Exception e) {
                    e.printStackTrace();
                  } finally {
                    stopped.countDown();
                  }
                },
                "neo4j-shutdown"));
    System.out.println("medstream: neo4j ready on " + neo4j.boltURI());
    stopped.await();
  }
}

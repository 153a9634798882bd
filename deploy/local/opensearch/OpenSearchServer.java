/*
 * Single-node OpenSearch 2.x for local runs and integration tests, started by
 * scripts/services.ts with Java's single-file source launcher:
 *
 *   java -Xms512m -Xmx1g -cp '<cache>/services/opensearch/lib/*' OpenSearchServer.java \
 *       <basePath> <httpPort> <transportPort>
 *
 * HTTP and transport bind to 127.0.0.1 only; no security plugin is on the classpath, so the
 * REST API is plain HTTP without authentication. Data lives under basePath and is wiped by the
 * script before each fresh start.
 */
import static org.codelibs.opensearch.runner.OpenSearchRunner.newConfigs;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.codelibs.opensearch.runner.OpenSearchRunner;

public final class OpenSearchServer {
  private OpenSearchServer() {}

  public static void main(final String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: OpenSearchServer <basePath> <httpPort> <transportPort>");
      System.exit(2);
    }
    final Path basePath = Path.of(args[0]).toAbsolutePath();
    final int httpPort = Integer.parseInt(args[1]);
    final int transportPort = Integer.parseInt(args[2]);

    final OpenSearchRunner runner = new OpenSearchRunner();
    final CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    runner.close();
                  } catch (final Exception e) {
                    e.printStackTrace();
                  } finally {
                    stopped.countDown();
                  }
                },
                "opensearch-shutdown"));

    runner.onBuild(
        (index, settings) -> {
          settings.put("network.host", "127.0.0.1");
          settings.put("http.port", String.valueOf(httpPort));
          settings.put("transport.port", String.valueOf(transportPort));
          settings.put("discovery.type", "single-node");
          settings.putList("node.roles", "cluster_manager", "data", "ingest");
          // A developer disk that is 90% full must not turn every index read-only.
          settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
          settings.put("action.auto_create_index", "true");
        });
    try {
      runner.build(
          newConfigs()
              .basePath(basePath.toString())
              .clusterName("medstream-local")
              .numOfNode(1)
              .printOnFailure());
      runner.ensureYellow();
    } catch (final Throwable e) {
      e.printStackTrace();
      System.exit(1);
    }
    System.out.println("medstream: opensearch ready on http://127.0.0.1:" + httpPort);
    stopped.await();
  }
}

"""Warms the Ivy cache with the connectors (run by spark_prefetch_packages via spark-submit --packages).

spark-submit resolves --packages before this script starts; the script then checks that the
connectors' classes really load in the driver, so a broken or partial cache fails here, at install time.
"""
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("prefetch-connectors").master("local[1]").getOrCreate()
# --packages jars are on the driver's context class loader, not the system one py4j's Class.forName uses.
loader = spark.sparkContext._jvm.java.lang.Thread.currentThread().getContextClassLoader()
for cls in (
    "org.apache.spark.sql.kafka010.KafkaSourceProvider",
    "com.datastax.spark.connector.cql.CassandraConnector",
):
    loader.loadClass(cls)
print("connectors OK")
spark.stop()

# spark-env.sh for the local stack, rendered into .stack/spark/conf/ by infra/local/spark/install.sh.
# Every spark-submit / pyspark started with SPARK_CONF_DIR=.stack/spark/conf sources it.
# shellcheck shell=bash
export JAVA_HOME="@JAVA_HOME@"
export SPARK_LOCAL_IP=127.0.0.1
# Scratch space (shuffle files, spills, block manager) under .stack/spark, not /tmp.
export SPARK_LOCAL_DIRS="@SPARK_STATE@/tmp"
export PYSPARK_PYTHON="@SPARK_PYTHON@"
export PYSPARK_DRIVER_PYTHON="@SPARK_PYTHON@"

"""NetFlow v5, v9 and IPFIX decoding into flow records (:mod:`mango_netflow.flows`)."""

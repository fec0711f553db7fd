"""HTTP APIs: the admin API and the Nova and Cinder gateways."""

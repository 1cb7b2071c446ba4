# PostgreSQL (RDS) and Redis (ElastiCache), reachable only from the servers.

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "PostgreSQL, from the messenger servers only"
  vpc_id      = var.vpc_id
  tags        = var.tags

  ingress {
    description     = "PostgreSQL from the servers"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.service.id]
  }
}

resource "aws_db_subnet_group" "main" {
  name       = var.name
  subnet_ids = var.private_subnet_ids
  tags       = var.tags
}

resource "aws_db_parameter_group" "main" {
  name   = var.name
  family = "postgres16"
  tags   = var.tags

  # The server sets its own statement and idle-in-transaction timeouts per connection;
  # this logs what is slow.
  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }

  # PostgreSQL 16 on RDS requires TLS by default, and the server's client speaks none yet
  # (see README.md): allow plain connections, which only the servers' security group can
  # open, inside the VPC.
  parameter {
    name  = "rds.force_ssl"
    value = "0"
  }
}

resource "aws_db_instance" "main" {
  identifier                          = var.name
  engine                              = "postgres"
  engine_version                      = "16"
  instance_class                      = var.db_instance_class
  allocated_storage                   = var.db_allocated_storage
  max_allocated_storage               = var.db_allocated_storage * 10
  storage_type                        = "gp3"
  storage_encrypted                   = true
  db_name                             = "messenger"
  username                            = "messenger"
  password                            = random_password.db.result
  multi_az                            = var.db_multi_az
  db_subnet_group_name                = aws_db_subnet_group.main.name
  parameter_group_name                = aws_db_parameter_group.main.name
  vpc_security_group_ids              = [aws_security_group.db.id]
  backup_retention_period             = 14
  deletion_protection                 = true
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-final"
  performance_insights_enabled        = true
  auto_minor_version_upgrade          = true
  copy_tags_to_snapshot               = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]
  iam_database_authentication_enabled = true
  tags                                = var.tags
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "Redis, from the messenger servers only"
  vpc_id      = var.vpc_id
  tags        = var.tags

  ingress {
    description     = "Redis from the servers"
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = [aws_security_group.service.id]
  }
}

resource "aws_elasticache_subnet_group" "main" {
  name       = var.name
  subnet_ids = var.private_subnet_ids
  tags       = var.tags
}

# Redis carries pokes and rate-limit counters, never the only copy of anything: a failover
# costs a moment of polling, not data. In-transit encryption stays off because the server's
# Redis client is built without TLS (see the README); the group is reachable only from the
# servers' security group inside the VPC.
resource "aws_elasticache_replication_group" "main" {
  replication_group_id       = var.name
  description                = "messenger live-event bus and rate limits"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.redis_node_type
  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.main.name
  security_group_ids         = [aws_security_group.redis.id]
  at_rest_encryption_enabled = true
  transit_encryption_enabled = false
  tags                       = var.tags
}

# Every secret the server reads lives in Secrets Manager; ECS hands them to the containers as
# environment variables at start, so none is in the task definition or the image.

resource "random_password" "db" {
  length  = 40
  special = false
}

resource "random_password" "token_key" {
  length  = 64
  special = false
}

locals {
  secret_values = {
    # Plain TCP inside the VPC: the server's PostgreSQL client has no TLS yet (see README.md).
    database-url = "postgres://messenger:${random_password.db.result}@${aws_db_instance.main.address}:5432/messenger?sslmode=disable"
    redis-url    = "redis://${aws_elasticache_replication_group.main.primary_endpoint_address}:6379"
    token-key    = random_password.token_key.result
  }
}

resource "aws_secretsmanager_secret" "main" {
  for_each                = toset(keys(local.secret_values))
  name                    = "${var.name}/${each.key}"
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "main" {
  for_each      = aws_secretsmanager_secret.main
  secret_id     = each.value.id
  secret_string = local.secret_values[each.key]
}

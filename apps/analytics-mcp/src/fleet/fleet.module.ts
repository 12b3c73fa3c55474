import { Module } from '@nestjs/common';
import { FleetTools } from './fleet.tools.js';

/**
 * Fleet questions as ready-made tools, over the demo schema. A template for a team's
 * own module: providers with @McpTool methods, built only on #mcp-tools and #db, and
 * added to the app by importing the module in AppModule. Nothing else registers them.
 */
@Module({ providers: [FleetTools] })
export class FleetModule {}
